/**
 * The statistics stored on a prompt-set version (backend/prompts/schemas.py PromptSetStats: Cleaner.stats,
 * content_counts, then workers/jobs/reference_stats.py's "references"). Every key may be null: a version
 * still importing has none, older versions lack the later ones.
 */
import type { Schemas } from "../api/client";
import type { RemovedRow } from "./jobs";

export type LengthStats = Schemas["LengthStats"];
export type ReferenceStats = Schemas["ReferenceStats"];

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

/** The stored stats with the missing keys filled in (counts empty, the rest null). */
export function readStats(raw: Partial<Schemas["PromptSetStats"]> | null | undefined): PromptSetStats {
  const s = raw ?? {};
  return {
    count: s.count ?? null,
    source: s.source ?? null,
    rowsRead: s.rows_read ?? null,
    rejected: s.rejected ?? null,
    removed: s.removed ?? {},
    removedExamples: s.removed_examples ?? [],
    splits: s.splits ?? {},
    chars: s.chars ?? null,
    references: s.references ?? null,
    cleaning: s.cleaning ?? null,
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
