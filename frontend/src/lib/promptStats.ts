/**
 * The statistics stored on a prompt-set version (backend/prompts/pipeline.py Cleaner.stats, plus
 * workers/jobs/reference_stats.py's "references"), read defensively: older versions lack some keys.
 */
import type { RemovedRow } from "./jobs";

export interface LengthStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  percentiles: Record<string, number>;
  histogram: { edges: number[]; counts: number[] };
}

export interface ReferenceStats {
  with_reference: number;
  unparseable: number;
  examples: { row: number; reference: string }[];
}

export interface PromptSetStats {
  count: number | null;
  source: string | null;
  rowsRead: number | null;
  rejected: number | null;
  removed: Record<string, number>;
  removedExamples: RemovedRow[];
  splits: Record<string, number>;
  chars: LengthStats | null;
  references: ReferenceStats | null;
  cleaning: Record<string, unknown> | null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const numOr = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const counts = (v: unknown): Record<string, number> =>
  isObj(v) ? Object.fromEntries(Object.entries(v).filter(([, n]) => typeof n === "number")) as Record<string, number> : {};

export function readStats(raw: Record<string, unknown> | null | undefined): PromptSetStats {
  const s = raw ?? {};
  const chars = isObj(s.chars) && isObj(s.chars.histogram) ? (s.chars as unknown as LengthStats) : null;
  const refs = isObj(s.references) ? (s.references as unknown as ReferenceStats) : null;
  return {
    count: numOr(s.count),
    source: typeof s.source === "string" ? s.source : null,
    rowsRead: numOr(s.rows_read),
    rejected: numOr(s.rejected),
    removed: counts(s.removed),
    removedExamples: Array.isArray(s.removed_examples) ? (s.removed_examples as RemovedRow[]) : [],
    splits: counts(s.splits),
    chars,
    references: refs,
    cleaning: isObj(s.cleaning) ? s.cleaning : null,
  };
}

/** Histogram bins as {label, count} rows ("12–40"), from numpy's edges (bins + 1) and counts. */
export function histogramBins(h: { edges: number[]; counts: number[] }): { label: string; from: number; to: number; count: number }[] {
  if (h.edges.length !== h.counts.length + 1) return [];
  const width = h.edges[1] - h.edges[0];
  // Enough decimals that neighbouring edges read differently (numpy's edges are fractional for narrow ranges).
  const digits = width >= 10 ? 0 : width >= 1 ? 1 : 2;
  const fmt = (v: number) => (digits === 0 ? String(Math.round(v)) : v.toFixed(digits).replace(/\.?0+$/, ""));
  return h.counts.map((count, i) => {
    const from = h.edges[i];
    const to = h.edges[i + 1];
    return { label: `${fmt(from)}–${fmt(to)}`, from, to, count };
  });
}

export const REMOVED_LABELS: Record<string, string> = {
  exact_duplicate: "exact duplicates",
  near_duplicate: "near duplicates",
  contaminated: "contaminated (shares an n-gram with the evaluation set)",
};
