import { useCallback, useEffect, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { parseTimestamp } from "../../lib/format";
import { atLeast } from "../../lib/roles";
import { AttemptView, EditDiff, WhyPanel, type Decision, type Item } from "./ReviewItem";
import { Link } from "@tanstack/react-router";
import { ReviewLog } from "./ReviewLog";
import { ReviewStats } from "./ReviewStats";
import { SHORTCUTS, useShortcuts } from "./shortcuts";
import "./review.css";
import { keys, projectQuery, reviewQueueQuery } from "../../api/queries";

type DecisionKind = Schemas["DecisionIn"]["decision"];
/** A decision this reviewer made on this page, with the item as it was shown. */
interface Made {
  decision: Decision;
  item: Item;
}

/** How often the queue's counts and agreement refresh. */
export const QUEUE_REFRESH_MS = 3000;

/** Renew the lease at a third of what is left, between 2 s and 60 s. */
export function heartbeatDelay(leaseUntil: string, now = Date.now()): number {
  const left = parseTimestamp(leaseUntil).getTime() - now;
  return Math.max(2000, Math.min(60_000, Math.floor(left / 3)));
}

const LEASE_CODES = new Set(["lease_expired", "not_leased", "foreign_lease"]);

export function ReviewPage({ projectId, runId }: { projectId: number; runId: number }) {
  const qc = useQueryClient();
  const path = { project_id: projectId, run_id: runId };
  const project = useQuery(projectQuery(projectId));
  const queue = useQuery({
    ...reviewQueueQuery(projectId, runId),
    refetchInterval: QUEUE_REFRESH_MS,
  });
  const canReview = atLeast(project.data?.role, "reviewer");
  const canClose = atLeast(project.data?.role, "maintainer");
  const waiting = queue.data?.stage_status === "running";

  const [item, setItem] = useState<Item | null>(null);
  const [left, setLeft] = useState<number | null>(null);
  const [made, setMade] = useState<Made[]>([]);
  const [view, setView] = useState<number | null>(null); // index into made; null: the current item
  const [editing, setEditing] = useState(false);
  const [leaseLost, setLeaseLost] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [help, setHelp] = useState(false);
  const [drained, setDrained] = useState(false);
  const [draft, setDraft] = useState({ content: "", reasoning: "" });
  const [logKey, setLogKey] = useState(0); // bumped after each decision or undo: the log reloads

  const refreshQueue = useCallback(
    () => qc.invalidateQueries({ queryKey: keys.reviewQueue(projectId, runId) }),
    [qc, projectId, runId],
  );

  const onFail = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.status === 409 && LEASE_CODES.has(err.code)) {
      setLeaseLost(err.message);
    } else {
      setError(errorMessage(err));
    }
  }, []);

  const claim = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/review/claim", { params: { path } })),
    onMutate: () => setError(null),
    onSuccess: (res) => {
      setItem(res.item ?? null);
      setLeft(res.left);
      setDrained(!res.item);
      setLeaseLost(null);
      setEditing(false);
    },
    onError: onFail,
  });

  // Claim once we know the caller may review and the stage is waiting for people.
  const claimedOnce = useRef(false);
  useEffect(() => {
    if (canReview && waiting && !claimedOnce.current) {
      claimedOnce.current = true;
      claim.mutate();
    }
  }, [canReview, waiting, claim]);

  // Keep the lease alive while the item is open.
  const leaseUntil = item?.lease_until;
  const taskId = item?.task_id;
  useEffect(() => {
    if (!taskId || !leaseUntil || leaseLost) return;
    const t = window.setTimeout(async () => {
      try {
        const fresh = await unwrap(
          api.POST("/api/projects/{project_id}/runs/{run_id}/review/items/{task_id}/heartbeat", {
            params: { path: { ...path, task_id: taskId } },
          }),
        );
        setItem((cur) => (cur && cur.task_id === fresh.task_id ? { ...cur, lease_until: fresh.lease_until } : cur));
      } catch (err) {
        onFail(err);
      }
    }, heartbeatDelay(leaseUntil));
    return () => window.clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [taskId, leaseUntil, leaseLost]);

  const decide = useMutation({
    mutationFn: (body: Schemas["DecisionIn"]) =>
      unwrap(
        api.POST("/api/projects/{project_id}/runs/{run_id}/review/items/{task_id}/decision", {
          params: { path: { ...path, task_id: item!.task_id } },
          body,
        }),
      ),
    onMutate: () => setError(null),
    onSuccess: (decision) => {
      if (item) setMade((m) => [...m, { decision, item }]);
      setItem(null);
      setEditing(false);
      setLogKey((k) => k + 1);
      refreshQueue();
      claim.mutate();
    },
    onError: onFail,
  });

  const undo = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/review/undo", { params: { path } })),
    onMutate: () => setError(null),
    onSuccess: (back) => {
      setMade((m) => m.slice(0, -1));
      setItem(back);
      setDrained(false);
      setLeaseLost(null);
      setView(null);
      setEditing(false);
      setLogKey((k) => k + 1);
      refreshQueue();
    },
    onError: (err) => setError(errorMessage(err)),
  });

  const close = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/review/close", { params: { path } })),
    onSuccess: () => {
      setItem(null);
      refreshQueue();
    },
    onError: (err) => setError(errorMessage(err)),
  });

  const busy = decide.isPending || claim.isPending || undo.isPending;
  const live = item !== null && view === null && !leaseLost && canReview;
  const send = (decision: DecisionKind) => {
    if (live && !busy) decide.mutate({ decision, note: "" });
  };
  const startEdit = () => {
    if (!live || busy || !item) return;
    setDraft({ content: item.content ?? "", reasoning: item.reasoning ?? "" });
    setEditing(true);
  };
  const saveEdit = () => {
    if (!item || busy) return;
    const body: Schemas["DecisionIn"] = { decision: "edit", note: "" };
    if (draft.content !== (item.content ?? "")) body.content = draft.content;
    if (draft.reasoning !== (item.reasoning ?? "")) body.reasoning = draft.reasoning;
    if (body.content === undefined && body.reasoning === undefined) {
      setError("Nothing changed: edit the answer or the reasoning first (Esc cancels).");
      return;
    }
    decide.mutate(body);
  };

  useShortcuts(
    editing
      ? { Escape: () => setEditing(false) }
      : {
          "?": () => setHelp((h) => !h),
          Escape: () => setHelp(false),
          j: () => setView((v) => (v === null || v + 1 >= made.length ? null : v + 1)),
          k: () => setView((v) => (made.length === 0 ? null : v === null ? made.length - 1 : Math.max(0, v - 1))),
          a: () => send("accept"),
          r: () => send("reject"),
          s: () => send("skip"),
          e: startEdit,
          u: () => {
            if (canReview && !busy && made.length > 0) undo.mutate();
          },
        },
  );

  if (project.isError || queue.isError) {
    return (
      <p className="error" role="alert" data-testid="review-error">
        {errorMessage(project.error ?? queue.error)}
      </p>
    );
  }

  const shown = view !== null ? made[view] : null;
  const openSlots = (queue.data?.states.open ?? 0) + (queue.data?.states.leased ?? 0);

  return (
    <div className="review-page" data-testid="review-page">
      <div className="card-head">
        <h1>Review</h1>
        <div className="card-actions">
          <span className="muted" data-testid="review-left">
            {left ?? openSlots} left
          </span>
          <span className="muted small">
            {made.length} decided here · press <kbd>?</kbd> for shortcuts
          </span>
          {canClose && waiting && (
            <button
              type="button"
              className="danger"
              disabled={close.isPending}
              onClick={() => {
                if (window.confirm("Close the review? Undecided items are closed and the run goes on.")) close.mutate();
              }}
            >
              {close.isPending ? "Closing…" : "Close review"}
            </button>
          )}
        </div>
      </div>

      {!canReview && project.data && (
        <p className="muted" data-testid="review-readonly">
          You are a {project.data.role} here: the queue is read-only for you.
        </p>
      )}
      {queue.data && !waiting && (
        <p className="muted" data-testid="review-not-waiting">
          {queue.data.stage_status
            ? `The review stage is ${queue.data.stage_status}: nothing to claim.`
            : "This run has no review stage."}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="review-action-error">
          {error}
        </p>
      )}
      {leaseLost && (
        <div className="error review-lease" role="alert" data-testid="review-lease-lost">
          <strong>Your lease on this item is gone.</strong> {leaseLost}{" "}
          <button
            type="button"
            onClick={() => {
              setView(null);
              claim.mutate();
            }}
            disabled={claim.isPending}
          >
            Claim again
          </button>
        </div>
      )}

      <div className="review-layout">
        <div className="card review-main">
          {shown ? (
            <div data-testid="review-past" data-decision={shown.decision.decision}>
              <p className="review-past-head">
                Your decision {view! + 1} of {made.length}:{" "}
                <strong data-testid="review-past-decision">{shown.decision.decision}</strong>{" "}
                <span className="muted">(j returns to the current item; u undoes the last one)</span>
              </p>
              {shown.decision.decision === "edit" && shown.decision.before && shown.decision.after ? (
                <EditDiff before={shown.decision.before} after={shown.decision.after} />
              ) : null}
              <WhyPanel item={shown.item} />
              <AttemptView item={shown.item} />
            </div>
          ) : item ? (
            <div data-testid="review-item" data-task-id={item.task_id} data-reason={item.reason}>
              <div className="review-item-head">
                <span className="muted small">
                  attempt #{item.generation_id} · lease until {parseTimestamp(item.lease_until).toLocaleTimeString()}
                </span>
                <Link
                  to="/projects/$projectId/runs/$runId/samples/$generationId"
                  params={{ projectId, runId, generationId: item.generation_id }}
                  className="small"
                >
                  full trace
                </Link>
              </div>
              <WhyPanel item={item} />
              {editing ? (
                <form
                  className="review-edit"
                  data-testid="review-edit"
                  onSubmit={(e) => {
                    e.preventDefault();
                    saveEdit();
                  }}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                      e.preventDefault();
                      saveEdit();
                    }
                  }}
                >
                  <div className="review-diff-row">
                    <div>
                      <h4>Original answer</h4>
                      <pre className="review-text review-before">{item.content ?? ""}</pre>
                    </div>
                    <label>
                      Edited answer
                      <textarea
                        autoFocus
                        data-testid="review-edit-content"
                        value={draft.content}
                        rows={6}
                        onChange={(e) => setDraft((d) => ({ ...d, content: e.target.value }))}
                      />
                    </label>
                  </div>
                  <div className="review-diff-row">
                    <div>
                      <h4>Original reasoning</h4>
                      <pre className="review-text review-before">{item.reasoning ?? ""}</pre>
                    </div>
                    <label>
                      Edited reasoning
                      <textarea
                        data-testid="review-edit-reasoning"
                        value={draft.reasoning}
                        rows={10}
                        onChange={(e) => setDraft((d) => ({ ...d, reasoning: e.target.value }))}
                      />
                    </label>
                  </div>
                  <div className="card-actions">
                    <button type="submit" disabled={busy} data-testid="review-edit-save">
                      {decide.isPending ? "Saving…" : "Save edit (Ctrl+Enter)"}
                    </button>
                    <button type="button" className="secondary" onClick={() => setEditing(false)}>
                      Cancel (Esc)
                    </button>
                  </div>
                </form>
              ) : (
                <AttemptView item={item} />
              )}
              {canReview && !editing && (
                <div className="review-actions" aria-label="Decide">
                  <button type="button" disabled={!live || busy} onClick={() => send("accept")} data-testid="review-accept">
                    <kbd>a</kbd> Accept
                  </button>
                  <button type="button" className="danger" disabled={!live || busy} onClick={() => send("reject")} data-testid="review-reject">
                    <kbd>r</kbd> Reject
                  </button>
                  <button type="button" className="secondary" disabled={!live || busy} onClick={startEdit}>
                    <kbd>e</kbd> Edit
                  </button>
                  <button type="button" className="secondary" disabled={!live || busy} onClick={() => send("skip")}>
                    <kbd>s</kbd> Skip
                  </button>
                  <button type="button" className="secondary" disabled={busy || made.length === 0} onClick={() => undo.mutate()}>
                    <kbd>u</kbd> Undo
                  </button>
                  {busy && <span className="muted small">saving…</span>}
                </div>
              )}
            </div>
          ) : canReview && waiting ? (
            <p className="muted" data-testid={drained ? "review-drained" : "review-loading"}>
              {drained ? "Nothing left for you in this queue." : "Claiming the next item…"}
              {drained && made.length > 0 && " (u undoes your last decision)"}
            </p>
          ) : (
            <p className="muted">No item open.</p>
          )}
        </div>
        <aside className="review-side">
          {made.length > 0 && (
            <div className="card">
              <h2>Decided here</h2>
              <ol className="review-history" data-testid="review-history">
                {made.map((m, i) => (
                  <li key={m.decision.id} className={view === i ? "selected" : ""}>
                    <button type="button" className="link-like" onClick={() => setView(i)}>
                      #{m.item.generation_id}
                    </button>{" "}
                    <span className={`verdict verdict-${m.decision.decision}`}>{m.decision.decision}</span>
                  </li>
                ))}
              </ol>
            </div>
          )}
          {queue.data && <ReviewStats queue={queue.data} projectId={projectId} />}
        </aside>
      </div>

      <ReviewLog projectId={projectId} runId={runId} refreshKey={logKey} />

      {help && (
        <div className="review-overlay" role="dialog" aria-label="Keyboard shortcuts" data-testid="review-help" onClick={() => setHelp(false)}>
          <div className="card review-overlay-card" onClick={(e) => e.stopPropagation()}>
            <h2>Keyboard shortcuts</h2>
            <table className="table compact">
              <tbody>
                {SHORTCUTS.map((s) => (
                  <tr key={s.key}>
                    <td>
                      <kbd>{s.key}</kbd>
                    </td>
                    <td>{s.action}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted small">Esc closes this.</p>
          </div>
        </div>
      )}
    </div>
  );
}
