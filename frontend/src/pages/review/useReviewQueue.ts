import { useCallback, useEffect, useRef, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { keys } from "../../api/queries";
import { parseTimestamp } from "../../lib/format";
import type { Decision, Item } from "./ReviewItem";

export type DecisionKind = Schemas["DecisionIn"]["decision"];
/** A decision this reviewer made on this page, with the item as it was shown. */
export interface Made {
  decision: Decision;
  item: Item;
}

/** Renew the lease at a third of what is left, between 2 s and 60 s. */
export function heartbeatDelay(leaseUntil: string, now = Date.now()): number {
  const left = parseTimestamp(leaseUntil).getTime() - now;
  return Math.max(2000, Math.min(60_000, Math.floor(left / 3)));
}

const LEASE_CODES = new Set(["lease_expired", "not_leased", "foreign_lease"]);

/**
 * One reviewer's side of a run's queue: the claimed item and its lease (claimed once the caller may review
 * and the stage waits for people, kept alive by heartbeats), the decisions made on this page (browsable
 * with `view`, the last one undoable), the edit draft, and the errors (a lost lease apart: claim again).
 */
export function useReviewQueue({
  projectId,
  runId,
  canReview,
  waiting,
}: {
  projectId: number;
  runId: number;
  canReview: boolean;
  waiting: boolean;
}) {
  const qc = useQueryClient();
  const path = { project_id: projectId, run_id: runId };

  const [item, setItem] = useState<Item | null>(null);
  const [left, setLeft] = useState<number | null>(null);
  const [made, setMade] = useState<Made[]>([]);
  const [view, setView] = useState<number | null>(null); // index into made; null: the current item
  const [editing, setEditing] = useState(false);
  const [leaseLost, setLeaseLost] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [drained, setDrained] = useState(false);
  // admit_if_rejected: the edit is admitted even if the run's verifiers reject it; its note says why
  const [draft, setDraft] = useState({ content: "", reasoning: "", admitIfRejected: false, note: "" });
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
      // the claim's count was the header's until a reload: after a close the queue's own counts speak
      setLeft(null);
      setDrained(true);
      refreshQueue();
      void qc.invalidateQueries({ queryKey: keys.run(projectId, runId) });
      void qc.invalidateQueries({ queryKey: keys.runs(projectId) });
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
    setDraft({ content: item.content ?? "", reasoning: item.reasoning ?? "", admitIfRejected: false, note: "" });
    setEditing(true);
  };
  const saveEdit = () => {
    if (!item || busy) return;
    const body: Schemas["DecisionIn"] = { decision: "edit", note: draft.note };
    if (draft.content !== (item.content ?? "")) body.content = draft.content;
    if (draft.reasoning !== (item.reasoning ?? "")) body.reasoning = draft.reasoning;
    if (body.content === undefined && body.reasoning === undefined) {
      setError("Nothing changed: edit the answer or the reasoning first (Esc cancels).");
      return;
    }
    if (draft.admitIfRejected) {
      if (!draft.note.trim()) {
        setError("Say in the note why the edit stands even if the verifiers reject it.");
        return;
      }
      body.admit_if_rejected = true;
    }
    decide.mutate(body);
  };
  const undoLast = () => {
    if (canReview && !busy && made.length > 0) undo.mutate();
  };
  const claimAgain = () => {
    setView(null);
    claim.mutate();
  };
  /** j: the next decision made here, then back to the current item; k: the one before. */
  const viewNext = () => setView((v) => (v === null || v + 1 >= made.length ? null : v + 1));
  const viewPrevious = () => setView((v) => (made.length === 0 ? null : v === null ? made.length - 1 : Math.max(0, v - 1)));

  return {
    item,
    left,
    made,
    view,
    setView,
    viewNext,
    viewPrevious,
    editing,
    setEditing,
    draft,
    setDraft,
    leaseLost,
    error,
    drained,
    logKey,
    busy,
    live,
    claim,
    decide,
    undo,
    close,
    send,
    startEdit,
    saveEdit,
    undoLast,
    claimAgain,
  };
}

export type ReviewQueueState = ReturnType<typeof useReviewQueue>;
