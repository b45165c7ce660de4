import { Fragment, useEffect, useRef, useState } from "react";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import type { EvaluationSearch } from "../../routes";
import { isFinished } from "../../lib/format";
import { LIVE_REFRESH_MS } from "../../lib/live";
import { Markdown } from "../samples/Markdown";
import { Reasoning } from "../samples/Reasoning";
import "./evaluation.css";
import { BenchmarkTable } from "./BenchmarkTable";
import { evalCompareQuery, evaluationsQuery, keys, runQuery } from "../../api/queries";

type Row = Schemas["PromptComparison"];
type Answers = Schemas["ModelAnswers"];
interface Column {
  id: number;
  label: string;
}
export type Only = "all" | "student_fails" | "student_fails_teacher_passes";

export const FILTERS: { value: Only; label: string }[] = [
  { value: "all", label: "All prompts" },
  { value: "student_fails_teacher_passes", label: "Student fails, teacher passes" },
  { value: "student_fails", label: "Student fails" },
];
const PAGE = 50;

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`;
}

function clip(s: string | null | undefined, n: number): string {
  if (!s) return "";
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The end of a long model path or id, where the distinguishing part is. */
function tail(s: string, n: number): string {
  return s.length > n ? `…${s.slice(-n)}` : s;
}

function Outcome({ a }: { a: Answers | undefined }) {
  if (!a) return <span className="muted">–</span>;
  const n = a.samples.length;
  const ok = a.passed > 0;
  return (
    <span className={`eval-outcome ${ok ? "eval-pass" : "eval-fail"}`} data-testid="eval-outcome" data-passed={ok}>
      {ok ? "✓" : "✗"} {n > 1 ? `${a.passed}/${n}` : ""}
      <span className="eval-answer">{clip(a.samples[0]?.answer ?? "(no answer)", 24)}</span>
    </span>
  );
}

/** Every evaluated model's answers to one prompt, side by side. */
function SideBySide({ row, columns }: { row: Row; columns: Column[] }) {
  return (
    <div className="eval-side" data-testid="eval-side" style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(0, 1fr))` }}>
      {columns.map((c) => {
        const a = row.models.find((m) => m.evaluation_id === c.id);
        return (
          <div key={c.id} className="eval-side-col">
            <h4>
              {c.label} {a && <Outcome a={a} />}
            </h4>
            {a?.samples.map((s) => (
              <div key={s.id} className="eval-sample">
                {a.samples.length > 1 && <div className="muted small">sample {s.sample}</div>}
                <div className="eval-text" data-testid="eval-side-content">
                  {s.content ? <Markdown text={s.content} /> : "(no answer)"}
                </div>
                {s.reasoning && <Reasoning text={s.reasoning} tokens={s.completion_tokens} />}
                <div className="small muted">
                  answer <code>{s.answer ?? "none"}</code> · {s.status}
                  {s.finish_reason && s.finish_reason !== "stop" ? ` · ${s.finish_reason}` : ""}
                  {s.completion_tokens != null ? ` · ${s.completion_tokens} tokens` : ""}
                </div>
              </div>
            )) ?? <p className="muted">not evaluated on this prompt</p>}
          </div>
        );
      })}
    </div>
  );
}

function onlyOf(filter: string | undefined): Only {
  return FILTERS.some((f) => f.value === filter) ? (filter as Only) : "all";
}

/** The filter lives in the URL (?filter=student_fails_teacher_passes) when the route passes search. */
export function EvaluationPage({
  projectId,
  runId,
  search,
  onSearch,
}: {
  projectId: number;
  runId: number;
  search?: EvaluationSearch;
  onSearch?: (patch: Partial<EvaluationSearch>) => void;
}) {
  const [localOnly, setLocalOnly] = useState<Only>(onlyOf(search?.filter));
  const only = onSearch ? onlyOf(search?.filter) : localOnly;
  const setOnly = (v: Only) => {
    setLocalOnly(v);
    onSearch?.({ filter: v === "all" ? undefined : v });
  };
  const [open, setOpen] = useState<number | null>(null);
  // While the run is unfinished its evaluations may still land: poll the run, and the tables with it.
  const run = useQuery({
    ...runQuery(projectId, runId),
    refetchInterval: (q) => (q.state.data && isFinished(q.state.data.status) ? false : LIVE_REFRESH_MS),
  });
  const live = run.data ? !isFinished(run.data.status) : false;
  // One last refresh when the run finishes (its last stage may have just written the scores).
  const qc = useQueryClient();
  const wasLive = useRef(false);
  useEffect(() => {
    if (wasLive.current && !live) {
      void qc.invalidateQueries({ queryKey: keys.evaluations(projectId, runId) });
      void qc.invalidateQueries({ queryKey: keys.evalCompare(projectId, runId) });
      void qc.invalidateQueries({ queryKey: keys.benchmarks(projectId, runId) });
    }
    wasLive.current = live;
  }, [live, qc, projectId, runId]);
  const evaluations = useQuery({
    ...evaluationsQuery(projectId, runId),
    refetchInterval: live ? LIVE_REFRESH_MS : false,
  });
  const rows = useInfiniteQuery({
    ...evalCompareQuery(projectId, runId, only, PAGE),
    refetchInterval: live ? LIVE_REFRESH_MS : false,
  });
  const columns: Column[] = (evaluations.data ?? []).map((e) => ({ id: e.id, label: e.label || e.role }));
  const items = rows.data?.pages.flatMap((p) => p.items) ?? [];
  const error = evaluations.error ?? rows.error;

  return (
    <div data-testid="evaluation-page" data-run-status={run.data?.status ?? ""}>
      <h1>Evaluation</h1>
      {error && (
        <p className="error" role="alert" data-testid="evaluation-error">
          {errorMessage(error)}
        </p>
      )}
      <div className="card">
        <h2>Scores</h2>
        {evaluations.isPending ? (
          <p className="muted">Loading…</p>
        ) : columns.length === 0 ? (
          <p className="muted" data-testid="evaluation-none">
            {live ? "Not evaluated yet: the run is still going (this page updates by itself)." : "This run has no evaluations."}
          </p>
        ) : (
          <table className="table compact" data-testid="evaluation-scores">
            <thead>
              <tr>
                <th>Model</th>
                <th>Role</th>
                <th>pass@1</th>
                <th>95% interval</th>
                <th>pass@k</th>
                <th>maj@k</th>
                <th>Samples</th>
                <th>Mean tokens</th>
                <th>Truncated</th>
              </tr>
            </thead>
            <tbody>
              {evaluations.data?.map((e) => (
                <tr key={e.id} data-testid="evaluation-score-row">
                  <td>
                    <strong>{e.label || e.role}</strong> <code className="small muted" title={e.model}>
                      {tail(e.model, 40)}
                    </code>
                    {e.metrics?.backend && (
                      <span className="small muted" data-testid="evaluation-backend">
                        {" "}
                        on {e.metrics.backend}
                      </span>
                    )}
                    {e.metrics?.verifiers && e.metrics.verifiers.length > 0 && (
                      <div className="small muted" data-testid="evaluation-verifiers">
                        scored by {e.metrics.verifiers.join(" + ")}
                        {e.metrics.verifiers_source ? ` (from ${e.metrics.verifiers_source})` : ""}
                      </div>
                    )}
                    {e.metrics?.served_prompt && (
                      <details className="small" data-testid="evaluation-served-prompt">
                        <summary>served prompt</summary>
                        <pre>{e.metrics.served_prompt}</pre>
                      </details>
                    )}
                  </td>
                  <td>{e.role}</td>
                  <td>{pct(e.metrics?.pass_at_1)}</td>
                  <td className="muted">
                    {e.metrics ? `${pct(e.metrics.pass_at_1_ci[0])} – ${pct(e.metrics.pass_at_1_ci[1])}` : "not scored yet"}
                  </td>
                  <td>{pct(e.metrics?.pass_at_k)}</td>
                  <td>{pct(e.metrics?.maj_at_k)}</td>
                  <td>{e.metrics?.samples ?? "–"}</td>
                  <td>{e.metrics ? e.metrics.mean_output_tokens.toFixed(0) : "–"}</td>
                  <td>{pct(e.metrics?.truncation_rate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <BenchmarkTable projectId={projectId} runId={runId} live={live} />

      <div className="card">
        <div className="card-head">
          <h2>Per prompt</h2>
          <div className="eval-filters" role="radiogroup" aria-label="Which prompts">
            {FILTERS.map((f) => (
              <label key={f.value} className="eval-filter">
                <input
                  type="radio"
                  name="eval-only"
                  value={f.value}
                  checked={only === f.value}
                  data-testid={`eval-filter-${f.value}`}
                  onChange={() => {
                    setOnly(f.value);
                    setOpen(null);
                  }}
                />
                {f.label}
              </label>
            ))}
          </div>
        </div>
        {rows.isPending ? (
          <p className="muted">Loading…</p>
        ) : items.length === 0 ? (
          <p className="muted" data-testid="eval-empty">
            {only === "all" ? "No answers recorded yet." : "No prompt matches this filter."}
          </p>
        ) : (
          <table className="table compact eval-table" data-testid="eval-table">
            <thead>
              <tr>
                <th>Prompt</th>
                <th>Reference</th>
                {columns.map((c) => (
                  <th key={c.id}>{c.label}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {items.map((row) => (
                <Fragment key={row.prompt_id}>
                  <tr
                    className={`clickable ${open === row.prompt_id ? "selected" : ""}`}
                    data-testid="eval-row"
                    data-prompt-id={row.prompt_id}
                    tabIndex={0}
                    onClick={() => setOpen(open === row.prompt_id ? null : row.prompt_id)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") setOpen(open === row.prompt_id ? null : row.prompt_id);
                    }}
                  >
                    <td className="eval-prompt" title={row.text}>
                      {clip(row.text, 120)}
                    </td>
                    <td>
                      <code>{clip(row.reference, 24) || "–"}</code>
                    </td>
                    {columns.map((c) => (
                      <td key={c.id}>
                        <Outcome a={row.models.find((m) => m.evaluation_id === c.id)} />
                      </td>
                    ))}
                  </tr>
                  {open === row.prompt_id && (
                    <tr className="eval-open">
                      <td colSpan={2 + columns.length}>
                        <div className="eval-text eval-full-prompt">
                          <Markdown text={row.text} />
                        </div>
                        <SideBySide row={row} columns={columns} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
        {rows.hasNextPage && (
          <button
            type="button"
            className="secondary"
            disabled={rows.isFetchingNextPage}
            onClick={() => rows.fetchNextPage()}
            data-testid="eval-more"
          >
            {rows.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
    </div>
  );
}
