import { useEffect, useState, type FormEvent } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { errorMessage } from "../../api/errors";
import { formatNumber, isFinished } from "../../lib/format";
import { IDLE_REFRESH_MS } from "../../lib/live";
import type { SamplesSearch } from "../../routes";
import { MathPreview } from "./MathPreview";
import { VerdictBadge } from "./VerdictBadge";
import "./samples.css";
import { generationsPageQuery, runQuery } from "../../api/queries";

export const PAGE_SIZE = 50;
const VERDICTS = ["accepted", "rejected", "unverified"] as const;
const RESULTS = ["pass", "fail", "undecided"] as const;
const FINISH_REASONS = ["stop", "length", "content_filter", "tool_calls"];

type Verdict = (typeof VERDICTS)[number];
type Result = (typeof RESULTS)[number];

/** The API's query for these search params (the same names; cursor "last" asks for the last page). */
export function apiQuery(search: SamplesSearch) {
  const verdict = (VERDICTS as readonly string[]).includes(search.verdict ?? "") ? (search.verdict as Verdict) : undefined;
  const result = (RESULTS as readonly string[]).includes(search.verifier_result ?? "") ? (search.verifier_result as Result) : undefined;
  return {
    limit: PAGE_SIZE,
    reasoning: false,
    ...(verdict && { verdict }),
    ...(search.verifier && { verifier: search.verifier }),
    ...(search.verifier && result && { verifier_result: result }),
    ...(search.score_min !== undefined && { score_min: search.score_min }),
    ...(search.score_max !== undefined && { score_max: search.score_max }),
    ...(search.q && { q: search.q }),
    ...(search.finish_reason && { finish_reason: search.finish_reason }),
    ...(search.cursor === "last" ? { last: true } : search.cursor ? { cursor: search.cursor } : {}),
  };
}

/**
 * The sample browser: a run's generations filtered by verdict, verifier result, judge score range,
 * prompt text and finish reason (all in the URL), 50 a page, keyset-paged (first, previous, next, last)
 * so any depth answers as fast as the first page. A row opens the trace view.
 */
export function SamplesPage({
  projectId,
  runId,
  search,
  onSearch,
}: {
  projectId: number;
  runId: number;
  search: SamplesSearch;
  onSearch: (patch: Partial<SamplesSearch>) => void;
}) {
  const navigate = useNavigate();
  const run = useQuery({
    ...runQuery(projectId, runId),
    refetchInterval: (q) => (q.state.data && !isFinished(q.state.data.status) ? IDLE_REFRESH_MS / 2 : false),
  });
  const query = apiQuery(search);
  const live = run.data ? !isFinished(run.data.status) : false;
  const page = useQuery({
    ...generationsPageQuery(projectId, runId, query),
    placeholderData: keepPreviousData,
    // while the run still writes generations and verdicts, the page shown follows them
    refetchInterval: live ? IDLE_REFRESH_MS / 2 : false,
  });
  const summary = run.data?.summary;
  const verifiers = [...Object.keys(summary?.filter?.by_verifier ?? {}), ...(summary?.judge ? ["judge"] : [])];
  const verifierName = search.verifier;
  const verifierResult = search.verifier_result;
  const set = (patch: Partial<SamplesSearch>) => onSearch({ ...patch, cursor: undefined });

  return (
    <section className="card samples" data-testid="samples">
      <div className="card-head">
        <h2>Samples</h2>
        <span className="muted small">{run.data?.name}</span>
      </div>
      <div className="samples-filters" data-testid="samples-filters">
        <label>
          verdict
          <select value={search.verdict ?? ""} onChange={(e) => set({ verdict: e.target.value || undefined })} data-testid="filter-verdict">
            <option value="">any</option>
            {VERDICTS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          verifier
          <select
            value={verifierName ?? ""}
            onChange={(e) => set({ verifier: e.target.value || undefined, ...(e.target.value ? {} : { verifier_result: undefined }) })}
            data-testid="filter-verifier"
          >
            <option value="">any</option>
            {[...new Set([...verifiers, ...(verifierName ? [verifierName] : [])])].map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          result
          <select
            value={verifierResult ?? ""}
            disabled={!verifierName}
            onChange={(e) => set({ verifier_result: e.target.value || undefined })}
            data-testid="filter-verifier-result"
          >
            <option value="">any</option>
            {RESULTS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          finish reason
          <select value={search.finish_reason ?? ""} onChange={(e) => set({ finish_reason: e.target.value || undefined })} data-testid="filter-finish">
            <option value="">any</option>
            {[...new Set([...FINISH_REASONS, ...(search.finish_reason ? [search.finish_reason] : [])])].map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <TextFilters search={search} onApply={set} />
        {Object.keys(search).some((k) => k !== "cursor") && (
          <button
            type="button"
            className="secondary"
            onClick={() => onSearch({ verdict: undefined, verifier: undefined, verifier_result: undefined, score_min: undefined, score_max: undefined, q: undefined, finish_reason: undefined, cursor: undefined })}
            data-testid="filter-clear"
          >
            Clear filters
          </button>
        )}
      </div>

      {page.isError && (
        <p className="error" role="alert" data-testid="samples-error">
          {errorMessage(page.error)}
        </p>
      )}
      {page.isPending ? (
        <p className="muted">Loading samples…</p>
      ) : page.data ? (
        <>
          {page.data.items.length === 0 ? (
            <p className="muted" data-testid="samples-empty">
              No generation matches these filters.
            </p>
          ) : (
            <table className={`table compact samples-table ${page.isPlaceholderData ? "stale" : ""}`} data-testid="samples-table" aria-busy={page.isFetching}>
              <thead>
                <tr>
                  <th>#</th>
                  <th>prompt</th>
                  <th>answer</th>
                  <th>verdict</th>
                  <th>judge</th>
                  <th>finish</th>
                  <th>tokens</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((g) => (
                  <tr
                    key={g.id}
                    className="sample-row"
                    data-testid="sample-row"
                    data-generation-id={g.id}
                    onClick={() =>
                      void navigate({
                        to: "/projects/$projectId/runs/$runId/samples/$generationId",
                        params: { projectId, runId, generationId: g.id },
                      })
                    }
                  >
                    <td>
                      <Link
                        to="/projects/$projectId/runs/$runId/samples/$generationId"
                        params={{ projectId, runId, generationId: g.id }}
                        onClick={(e) => e.stopPropagation()}
                      >
                        {g.id}
                      </Link>
                    </td>
                    <td className="preview" title={g.prompt_preview ?? ""}>
                      {g.prompt_preview ? <MathPreview text={g.prompt_preview} /> : "—"}
                    </td>
                    <td className="preview" title={(g.content ?? g.error ?? "").slice(0, 500)}>
                      {g.status === "failed" ? <span className="error">{g.error ?? "failed"}</span> : <MathPreview text={g.content ?? ""} />}
                    </td>
                    <td>
                      <VerdictBadge accepted={g.accepted} />
                    </td>
                    <td>{g.judge_score == null ? "—" : formatNumber(g.judge_score)}</td>
                    <td>{g.truncated ? <strong className="warn">{g.finish_reason}</strong> : (g.finish_reason ?? "—")}</td>
                    <td>{g.completion_tokens == null ? "—" : formatNumber(g.completion_tokens)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="samples-pager" data-testid="samples-pager">
            <button type="button" className="secondary" disabled={!search.cursor} onClick={() => onSearch({ cursor: undefined })} data-testid="page-first">
              « First
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!page.data.prev_cursor}
              onClick={() => onSearch({ cursor: page.data.prev_cursor ?? undefined })}
              data-testid="page-prev"
            >
              ‹ Previous
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!page.data.next_cursor}
              onClick={() => onSearch({ cursor: page.data.next_cursor ?? undefined })}
              data-testid="page-next"
            >
              Next ›
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!page.data.next_cursor}
              onClick={() => onSearch({ cursor: "last" })}
              data-testid="page-last"
            >
              Last »
            </button>
            <span className="spacer" />
            {page.isFetching && <span className="muted small">loading…</span>}
            {page.data.items.length > 0 && (
              <span className="muted small" data-testid="samples-range">
                #{page.data.items[0].id} – #{page.data.items[page.data.items.length - 1].id}
              </span>
            )}
          </div>
        </>
      ) : null}
    </section>
  );
}

/** Prompt text and judge score range: typed, then applied together (Enter or the button). */
function TextFilters({ search, onApply }: { search: SamplesSearch; onApply: (patch: Partial<SamplesSearch>) => void }) {
  const [q, setQ] = useState(search.q ?? "");
  const [lo, setLo] = useState(search.score_min?.toString() ?? "");
  const [hi, setHi] = useState(search.score_max?.toString() ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setQ(search.q ?? "");
    setLo(search.score_min?.toString() ?? "");
    setHi(search.score_max?.toString() ?? "");
  }, [search.q, search.score_min, search.score_max]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = q.trim();
    const min = lo.trim() === "" ? undefined : Number(lo);
    const max = hi.trim() === "" ? undefined : Number(hi);
    if (text.length > 0 && text.length < 3) return setProblem("Prompt text: type at least 3 characters.");
    if ((min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max)))
      return setProblem("Judge score: a number.");
    if (min !== undefined && max !== undefined && min > max) return setProblem("Judge score: the minimum is above the maximum.");
    setProblem(null);
    onApply({ q: text || undefined, score_min: min, score_max: max });
  };
  return (
    <form className="samples-filters" onSubmit={submit} data-testid="filter-text-form" style={{ margin: 0 }}>
      <label>
        prompt contains
        <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="at least 3 characters" maxLength={200} data-testid="filter-q" />
      </label>
      <label>
        judge score ≥
        <input type="number" step="any" value={lo} onChange={(e) => setLo(e.target.value)} data-testid="filter-score-min" />
      </label>
      <label>
        ≤
        <input type="number" step="any" value={hi} onChange={(e) => setHi(e.target.value)} data-testid="filter-score-max" />
      </label>
      <button type="submit" data-testid="filter-apply">
        Apply
      </button>
      {problem && (
        <span className="field-error" role="alert" data-testid="filter-problem">
          {problem}
        </span>
      )}
    </form>
  );
}
