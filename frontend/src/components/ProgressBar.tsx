import { formatProgress, progressPercent } from "../lib/format";

export function ProgressBar({ done, total, label }: { done: number; total: number | null; label?: string }) {
  const pct = progressPercent(done, total);
  const text = formatProgress(done, total);
  return (
    <div className="progress" data-testid="progress">
      <div
        className={`progress-track${pct === null ? " progress-indeterminate" : ""}`}
        role="progressbar"
        aria-label={label ?? "progress"}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        aria-valuetext={text}
      >
        <div className="progress-fill" style={{ width: `${pct ?? 100}%` }} />
      </div>
      <span className="progress-text" data-testid="progress-text">
        {text}
      </span>
    </div>
  );
}
