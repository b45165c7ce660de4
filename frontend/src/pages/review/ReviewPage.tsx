import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../../api/errors";
import { projectQuery, reviewQueueQuery } from "../../api/queries";
import { atLeast } from "../../lib/roles";
import { ReviewLog } from "./ReviewLog";
import { CurrentItem, DecidedHere, PastDecision, ShortcutsHelp } from "./ReviewParts";
import { ReviewStats } from "./ReviewStats";
import { useShortcuts } from "./shortcuts";
import { useReviewQueue } from "./useReviewQueue";
import "./review.css";

export { heartbeatDelay } from "./useReviewQueue";

/** How often the queue's counts and agreement refresh. */
export const QUEUE_REFRESH_MS = 3000;

/** A run's review queue for one reviewer: the claimed item, the decisions (keys or buttons), what was
 * decided here, the queue's counts and agreement, and the audit log. */
export function ReviewPage({ projectId, runId }: { projectId: number; runId: number }) {
  const project = useQuery(projectQuery(projectId));
  const queue = useQuery({
    ...reviewQueueQuery(projectId, runId),
    refetchInterval: QUEUE_REFRESH_MS,
  });
  const canReview = atLeast(project.data?.role, "reviewer");
  const canClose = atLeast(project.data?.role, "maintainer");
  const waiting = queue.data?.stage_status === "running";
  const q = useReviewQueue({ projectId, runId, canReview, waiting });
  const { item, made, view } = q;
  const [help, setHelp] = useState(false);

  useShortcuts(
    q.editing
      ? { Escape: () => q.setEditing(false) }
      : {
          "?": () => setHelp((h) => !h),
          Escape: () => setHelp(false),
          j: q.viewNext,
          k: q.viewPrevious,
          a: () => q.send("accept"),
          r: () => q.send("reject"),
          s: () => q.send("skip"),
          e: q.startEdit,
          u: q.undoLast,
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
            {q.left ?? openSlots} left
          </span>
          <span className="muted small">
            {made.length} decided here · press <kbd>?</kbd> for shortcuts
          </span>
          {canClose && waiting && (
            <button
              type="button"
              className="danger"
              disabled={q.close.isPending}
              onClick={() => {
                if (window.confirm("Close the review? Undecided items are closed and the run goes on.")) q.close.mutate();
              }}
            >
              {q.close.isPending ? "Closing…" : "Close review"}
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
      {q.error && (
        <p className="error" role="alert" data-testid="review-action-error">
          {q.error}
        </p>
      )}
      {q.leaseLost && (
        <div className="error review-lease" role="alert" data-testid="review-lease-lost">
          <strong>Your lease on this item is gone.</strong> {q.leaseLost}{" "}
          <button type="button" onClick={q.claimAgain} disabled={q.claim.isPending}>
            Claim again
          </button>
        </div>
      )}

      <div className="review-layout">
        <div className="card review-main">
          {shown ? (
            <PastDecision shown={shown} index={view!} count={made.length} />
          ) : item ? (
            <CurrentItem projectId={projectId} runId={runId} canReview={canReview} queue={q} />
          ) : canReview && waiting ? (
            <p className="muted" data-testid={q.drained ? "review-drained" : "review-loading"}>
              {q.drained ? "Nothing left for you in this queue." : "Claiming the next item…"}
              {q.drained && made.length > 0 && " (u undoes your last decision)"}
            </p>
          ) : (
            <p className="muted">No item open.</p>
          )}
        </div>
        <aside className="review-side">
          {made.length > 0 && <DecidedHere made={made} view={view} onView={q.setView} />}
          {queue.data && <ReviewStats queue={queue.data} projectId={projectId} />}
        </aside>
      </div>

      <ReviewLog projectId={projectId} runId={runId} refreshKey={q.logKey} />

      {help && <ShortcutsHelp onClose={() => setHelp(false)} />}
    </div>
  );
}
