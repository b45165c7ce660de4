import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import type { Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { formatNumber } from "../../lib/format";
import { Markdown } from "./Markdown";
import { Reasoning } from "./Reasoning";
import { TestsView } from "./TestsView";
import { VerdictBadge } from "./VerdictBadge";
import "./samples.css";
import { generationQuery, generationReviewsQuery } from "../../api/queries";
import { EditVerdict, editVerdictOf } from "../../components/EditVerdict";
import { EditDiff } from "../review/ReviewItem";

type Verdict = Schemas["VerdictOut"];

/**
 * The trace view: the final answer pinned on top with the reference beside it, the prompt, the reasoning
 * (collapsed; chunked and virtualised when open), each verifier's verdict and detail, and the judge's
 * score and rationale, and the prompt's tests when the code verifier has some. Markdown and LaTeX (KaTeX)
 * throughout; code highlighted, its indentation kept.
 */
export function TracePage({ projectId, runId, generationId }: { projectId: number; runId: number; generationId: number }) {
  const trace = useQuery(generationQuery(projectId, runId, generationId));
  const back = (
    <Link
      to="/projects/$projectId/runs/$runId/samples"
      params={{ projectId, runId }}
      className="small"
      data-testid="trace-back"
    >
      ← samples
    </Link>
  );
  if (trace.isPending) {
    return (
      <section className="card">
        {back}
        <p className="muted">Loading trace…</p>
      </section>
    );
  }
  if (trace.isError) {
    return (
      <section className="card">
        {back}
        <p className="error" role="alert" data-testid="trace-error">
          {errorMessage(trace.error)}
        </p>
      </section>
    );
  }
  const { generation: g, prompt, verdicts } = trace.data;
  const judge = verdicts.filter((v) => v.verifier === "judge");
  const checks = verdicts.filter((v) => v.verifier !== "judge");
  return (
    <article className="card trace" data-testid="trace" data-generation-id={g.id}>
      <div className="trace-head">
        {back}
        <h2>
          Trace #{g.id} <VerdictBadge accepted={g.accepted} />
        </h2>
        <span className="muted small">
          prompt {prompt ? `#${prompt.position}` : "?"} · attempt {g.attempt} · finish {g.finish_reason ?? "—"}
          {g.truncated && <strong className="warn"> (truncated)</strong>} · {formatNumber(g.completion_tokens ?? 0)} tokens
          {g.latency_ms != null && ` · ${formatNumber(g.latency_ms)} ms`}
          {g.from_cache && " · from cache"}
        </span>
      </div>

      <div className="trace-pinned" data-testid="trace-pinned">
        <section className="trace-answer" data-testid="trace-answer">
          <h3>Final answer</h3>
          {g.status === "failed" ? (
            <p className="error">{g.error ?? "the request failed"}</p>
          ) : g.content ? (
            <Markdown text={g.content} />
          ) : (
            <p className="muted">No answer.</p>
          )}
        </section>
        <section className="trace-reference" data-testid="trace-reference">
          <h3>Reference</h3>
          {prompt?.reference ? <Markdown text={prompt.reference} /> : <p className="muted">No reference.</p>}
        </section>
      </div>

      <section className="trace-section" data-testid="trace-prompt">
        <h3>Prompt</h3>
        {prompt?.system && (
          <details className="small">
            <summary>system prompt</summary>
            <Markdown text={prompt.system} />
          </details>
        )}
        {prompt ? <Markdown text={prompt.text} /> : <p className="muted">The prompt is gone.</p>}
        <TestsView tests={prompt?.tests} />
      </section>

      {g.reasoning ? <Reasoning text={g.reasoning} tokens={g.completion_tokens} /> : null}

      <section className="trace-section" data-testid="trace-verifiers">
        <h3>Verifiers</h3>
        {checks.length === 0 ? <p className="muted">No verifier has looked at this attempt.</p> : <VerdictTable verdicts={checks} />}
      </section>

      <TraceEdits projectId={projectId} runId={runId} generationId={generationId} />

      <section className="trace-section" data-testid="trace-judge">
        <h3>Judge</h3>
        {judge.length === 0 ? <p className="muted">Not judged.</p> : judge.map((v) => <JudgeVerdict key={v.id} verdict={v} />)}
      </section>
    </article>
  );
}

function VerdictTable({ verdicts }: { verdicts: Verdict[] }) {
  return (
    <table className="table compact">
      <thead>
        <tr>
          <th>verifier</th>
          <th>version</th>
          <th>status</th>
          <th>score</th>
          <th>time</th>
          <th>detail</th>
        </tr>
      </thead>
      <tbody>
        {verdicts.map((v) => (
          <tr key={v.id} data-testid="verdict-row" data-verifier={v.verifier} data-passed={String(v.passed)}>
            <td>{v.verifier}</td>
            <td>{v.verifier_version}</td>
            <td>
              <span className={`pill ${v.passed === true ? "ok" : v.passed === false ? "bad" : "neutral"}`}>{v.status}</span>
            </td>
            <td>{v.score == null ? "—" : formatNumber(v.score)}</td>
            <td>{formatNumber(v.duration_ms)} ms</td>
            <td>
              {Object.keys(v.detail).length === 0 ? (
                <span className="muted">—</span>
              ) : (
                <details>
                  <summary>detail</summary>
                  <pre className="detail">{JSON.stringify(v.detail, null, 2)}</pre>
                </details>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function JudgeVerdict({ verdict: v }: { verdict: Verdict }) {
  const rationale = typeof v.detail.rationale === "string" ? v.detail.rationale : null;
  const error = typeof v.detail.error === "string" ? v.detail.error : null;
  const t = v.detail.thresholds as { accept?: number; reject?: number } | undefined;
  return (
    <div className="judge-verdict" data-testid="judge-verdict">
      <p>
        <strong data-testid="judge-score">{v.score == null ? "no score" : formatNumber(v.score)}</strong>{" "}
        <span className={`pill ${v.passed === true ? "ok" : v.passed === false ? "bad" : "neutral"}`}>{v.status}</span>{" "}
        <span className="muted small">
          rubric {v.verifier_version}
          {t && t.accept != null && t.reject != null && ` · accept ≥ ${t.accept}, reject < ${t.reject}`}
        </span>
      </p>
      {rationale && <Markdown text={rationale} className="judge-rationale" />}
      {error && <p className="error small">{error}</p>}
    </div>
  );
}

/** A reviewer's standing edits of this attempt, each beside the original with the run's verifiers'
 * verdict on the edited text (the snapshot trains on an edit only when they do not reject it, or a
 * reviewer overrode them). Nothing when no one edited it. */
function TraceEdits({ projectId, runId, generationId }: { projectId: number; runId: number; generationId: number }) {
  const reviews = useQuery({
    ...generationReviewsQuery(projectId, runId, generationId),
    refetchInterval: (q) =>
      (q.state.data ?? []).some((d) => d.decision === "edit" && !d.undone && editVerdictOf(d.after)?.status === "pending")
        ? 2000
        : false,
  });
  const edits = (reviews.data ?? []).filter((d) => d.decision === "edit" && !d.undone && d.before && d.after);
  if (reviews.isError) {
    return (
      <p className="error" role="alert">
        {errorMessage(reviews.error)}
      </p>
    );
  }
  if (edits.length === 0) return null;
  return (
    <section className="trace-section" data-testid="trace-edits">
      <h3>Reviewer edits</h3>
      {edits.map((d) => (
        <div key={d.id} data-testid="trace-edit">
          <p>
            <EditVerdict after={d.after} />
            {d.note && <span className="muted small"> · {d.note}</span>}
          </p>
          <EditDiff before={d.before!} after={d.after!} />
        </div>
      ))}
    </section>
  );
}
