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

export function StatusBadge({ status }: { status: RunStatus }) {
  const label = LABELS[status] ?? status;
  return (
    <span className={`badge badge-${label}`} data-testid="status-badge" data-status={label} title={`status: ${label}`}>
      {label}
    </span>
  );
}
