import { Link } from "@tanstack/react-router";
import { parseTimestamp } from "../../lib/format";
import { AttemptView, EditDiff, WhyPanel } from "./ReviewItem";
import { SHORTCUTS } from "./shortcuts";
import type { Made, ReviewQueueState } from "./useReviewQueue";

/** A decision made on this page, as it was shown (j/k browse them). */
export function PastDecision({ shown, index, count }: { shown: Made; index: number; count: number }) {
  return (
    <div data-testid="review-past" data-decision={shown.decision.decision}>
      <p className="review-past-head">
        Your decision {index + 1} of {count}: <strong data-testid="review-past-decision">{shown.decision.decision}</strong>{" "}
        <span className="muted">(j returns to the current item; u undoes the last one)</span>
      </p>
      {shown.decision.decision === "edit" && shown.decision.before && shown.decision.after ? (
        <EditDiff before={shown.decision.before} after={shown.decision.after} />
      ) : null}
      <WhyPanel item={shown.item} />
      <AttemptView item={shown.item} />
    </div>
  );
}

/** The claimed item: why it is here, the attempt (or its edit form) and, for reviewers, the decisions. */
export function CurrentItem({
  projectId,
  runId,
  canReview,
  queue: q,
}: {
  projectId: number;
  runId: number;
  canReview: boolean;
  queue: ReviewQueueState;
}) {
  const item = q.item!;
  return (
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
      {q.editing ? <EditForm queue={q} /> : <AttemptView item={item} />}
      {canReview && !q.editing && <DecideBar queue={q} />}
    </div>
  );
}

/** The edit beside the original, answer and reasoning; Ctrl+Enter saves, Esc cancels. */
function EditForm({ queue: q }: { queue: ReviewQueueState }) {
  const item = q.item!;
  return (
    <form
      className="review-edit"
      data-testid="review-edit"
      onSubmit={(e) => {
        e.preventDefault();
        q.saveEdit();
      }}
      onKeyDown={(e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          q.saveEdit();
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
            value={q.draft.content}
            rows={6}
            onChange={(e) => q.setDraft((d) => ({ ...d, content: e.target.value }))}
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
            value={q.draft.reasoning}
            rows={10}
            onChange={(e) => q.setDraft((d) => ({ ...d, reasoning: e.target.value }))}
          />
        </label>
      </div>
      <label>
        Note
        <input
          data-testid="review-edit-note"
          value={q.draft.note}
          maxLength={4000}
          onChange={(e) => q.setDraft((d) => ({ ...d, note: e.target.value }))}
        />
      </label>
      <label className="small">
        <input
          type="checkbox"
          data-testid="review-edit-override"
          checked={q.draft.admitIfRejected}
          onChange={(e) => q.setDraft((d) => ({ ...d, admitIfRejected: e.target.checked }))}
        />{" "}
        Admit even if the run's verifiers reject the edited text (the note says why). Otherwise the edit is checked
        by them and left out of the snapshot if they reject it.
      </label>
      <div className="card-actions">
        <button type="submit" disabled={q.busy} data-testid="review-edit-save">
          {q.decide.isPending ? "Saving…" : "Save edit (Ctrl+Enter)"}
        </button>
        <button type="button" className="secondary" onClick={() => q.setEditing(false)}>
          Cancel (Esc)
        </button>
      </div>
    </form>
  );
}

/** Accept, reject, edit, skip and undo, with their keys. */
function DecideBar({ queue: q }: { queue: ReviewQueueState }) {
  const off = !q.live || q.busy;
  return (
    <div className="review-actions" aria-label="Decide">
      <button type="button" disabled={off} onClick={() => q.send("accept")} data-testid="review-accept">
        <kbd>a</kbd> Accept
      </button>
      <button type="button" className="danger" disabled={off} onClick={() => q.send("reject")} data-testid="review-reject">
        <kbd>r</kbd> Reject
      </button>
      <button type="button" className="secondary" disabled={off} onClick={q.startEdit}>
        <kbd>e</kbd> Edit
      </button>
      <button type="button" className="secondary" disabled={off} onClick={() => q.send("skip")}>
        <kbd>s</kbd> Skip
      </button>
      <button type="button" className="secondary" disabled={q.busy || q.made.length === 0} onClick={() => q.undo.mutate()}>
        <kbd>u</kbd> Undo
      </button>
      {q.busy && <span className="muted small">saving…</span>}
    </div>
  );
}

/** The decisions made on this page; a click shows one. */
export function DecidedHere({ made, view, onView }: { made: Made[]; view: number | null; onView: (i: number) => void }) {
  return (
    <div className="card">
      <h2>Decided here</h2>
      <ol className="review-history" data-testid="review-history">
        {made.map((m, i) => (
          <li key={m.decision.id} className={view === i ? "selected" : ""}>
            {/* the number is text, not the list's marker: an outside marker from 10 on was cut off by the
                scrolling list's padding (its first digit lost) */}
            <span className="review-history-n muted">{i + 1}.</span>{" "}
            <button type="button" className="link-like" onClick={() => onView(i)}>
              #{m.item.generation_id}
            </button>{" "}
            <span className={`verdict verdict-${m.decision.decision}`}>{m.decision.decision}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** The `?` overlay: every shortcut and what it does. */
export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="review-overlay" role="dialog" aria-label="Keyboard shortcuts" data-testid="review-help" onClick={onClose}>
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
  );
}
