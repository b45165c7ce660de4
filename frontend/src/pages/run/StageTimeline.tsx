import type { ReactNode } from "react";
import type { Stage } from "../../api/client";
import { ProgressBar } from "../../components/ProgressBar";
import { partlyFailedOf, StatusBadge } from "../../components/StatusBadge";
import { formatDuration } from "../../lib/format";

/** The run's stages in order as a timeline: status, progress, time so far (live while running), error, and
 * what the caller offers to do with a stage (`action`: the run page's edit-and-resume of a failed one). */
export function StageTimeline({ stages, now = Date.now(), action }: { stages: Stage[]; now?: number; action?: (s: Stage) => ReactNode }) {
  const ordered = [...stages].sort((a, b) => a.position - b.position);
  if (ordered.length === 0) return <p className="muted">No stages.</p>;
  return (
    <ol className="timeline" data-testid="timeline">
      {ordered.map((s) => (
        <li
          key={s.id}
          className={`timeline-stage status-${s.status}`}
          data-testid="stage"
          data-stage-kind={s.kind}
          data-stage-status={s.status}
        >
          <div className="timeline-dot" aria-hidden />
          <div className="timeline-body">
            <div className="stage-head">
              <strong>{s.kind}</strong>
              <StatusBadge status={s.status} partlyFailed={partlyFailedOf(s.metrics)} />
            </div>
            <ProgressBar done={s.progress_done} total={s.progress_total} label={`${s.kind} progress`} />
            <span className="muted small" data-testid="stage-elapsed">
              {s.started_at ? formatDuration(s.started_at, s.finished_at, now) : s.status === "queued" ? "waiting" : "—"}
            </span>
            {s.error && (
              <p className="error small" data-testid="stage-error">
                {s.error}
              </p>
            )}
            {action?.(s)}
            {(s.workers_lost ?? 0) > 0 && !s.error && (
              <p className="muted small" data-testid="stage-workers-lost">
                re-queued after its worker was lost ({s.workers_lost}×)
              </p>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}
