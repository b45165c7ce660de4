import type { RunStatus } from "../api/client";

const LABELS: Record<RunStatus, string> = {
  pending: "pending",
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  cancelling: "cancelling",
  cancelled: "cancelled",
};

/** `partlyFailed`: the summary's note on a succeeded stage some of whose attempts failed. */
export function StatusBadge({ status, partlyFailed }: { status: RunStatus; partlyFailed?: string | null }) {
  const label = LABELS[status] ?? status;
  return (
    <>
      <span className={`badge badge-${label}`} data-testid="status-badge" data-status={label} title={`status: ${label}`}>
        {label}
      </span>
      {partlyFailed && status === "succeeded" && (
        <span className="badge badge-failed" data-testid="partly-failed" title={partlyFailed}>
          partly failed
        </span>
      )}
    </>
  );
}

/** The partly_failed note of any stage in a run's summary or a stage's metrics. */
export function partlyFailedOf(metrics: unknown): string | null {
  if (!metrics || typeof metrics !== "object") return null;
  const direct = (metrics as Record<string, unknown>).partly_failed;
  if (typeof direct === "string") return direct;
  for (const v of Object.values(metrics as Record<string, unknown>)) {
    if (v && typeof v === "object" && typeof (v as Record<string, unknown>).partly_failed === "string") {
      return (v as Record<string, string>).partly_failed;
    }
  }
  return null;
}
