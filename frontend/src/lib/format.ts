import type { LengthSummary, RunStatus } from "../api/client";

export const FINISHED_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(["succeeded", "failed", "cancelled"]);

export function isFinished(status: RunStatus): boolean {
  return FINISHED_STATUSES.has(status);
}

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export function formatNumber(n: number): string {
  return numberFormat.format(n);
}

/** Progress as a 0-100 integer; null when the total is not known yet. */
export function progressPercent(done: number, total: number | null | undefined): number | null {
  if (total === null || total === undefined) return null;
  if (total <= 0) return done > 0 ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

/** "1,234 / 5,000 (24%)", or "1,234 / ?" while the total is unknown. */
export function formatProgress(done: number, total: number | null | undefined): string {
  const pct = progressPercent(done, total);
  if (pct === null) return `${formatNumber(done)} / ?`;
  return `${formatNumber(done)} / ${formatNumber(total as number)} (${pct}%)`;
}

/** Parse an API timestamp; naive ones (no zone) are UTC. */
export function parseTimestamp(iso: string): Date {
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(iso);
  return new Date(hasZone ? iso : `${iso}Z`);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = parseTimestamp(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** "4s", "3m 05s", "2h 01m"; from start to end (or now while still running). */
export function formatDuration(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number = Date.now(),
): string {
  if (!start) return "—";
  const from = parseTimestamp(start).getTime();
  const to = end ? parseTimestamp(end).getTime() : now;
  if (Number.isNaN(from) || Number.isNaN(to)) return "—";
  const secs = Math.max(0, Math.round((to - from) / 1000));
  if (secs < 60) return `${secs}s`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins}m ${String(secs % 60).padStart(2, "0")}s`;
  return `${Math.floor(mins / 60)}h ${String(mins % 60).padStart(2, "0")}m`;
}

/** Render a metric value compactly: numbers formatted, objects as JSON. */
export function formatMetric(v: unknown): string {
  if (typeof v === "number") return formatNumber(v);
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "yes" : "no";
  return JSON.stringify(v);
}

/** Percentile keys in numeric order: p50, p90, p95, p99. */
export function percentileKeys(stats: LengthSummary[]): string[] {
  const keys = new Set<string>();
  for (const s of stats) for (const k of Object.keys(s.percentiles)) keys.add(k);
  return [...keys].sort((a, b) => parseFloat(a.replace(/^p/, "")) - parseFloat(b.replace(/^p/, "")));
}
