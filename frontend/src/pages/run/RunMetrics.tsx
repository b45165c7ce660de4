import type { RunDetail, RunSummary } from "../../api/client";
import { formatNumber } from "../../lib/format";

const usd = (x: number) => `$${x < 0.01 && x > 0 ? x.toPrecision(2) : formatNumber(x)}`;

/** The live numbers of a run: throughput, cost, acceptance overall and per verifier, the judge's tally. The
 * cost and the cost per accepted trace are the API's (the rollout's and the judge's, backend/runs/cost.py),
 * the same figure the dataset card prints. */
export function RunMetrics({ run }: { run: Pick<RunDetail, "summary" | "cost_usd" | "cost_per_accepted_usd"> }) {
  const summary: RunSummary = run.summary;
  const r = summary.rollout;
  const f = summary.filter;
  const j = summary.judge;
  if (!r && !f && !j) return null;
  const perAccepted = run.cost_per_accepted_usd ?? null;
  return (
    <div className="run-metrics" data-testid="run-metrics">
      <div className="kpis">
        {r && (
          <>
            <Kpi label="tokens / s" value={formatNumber(r.tokens_per_s)} testId="kpi-tokens-per-s" />
            <Kpi label="generations" value={`${formatNumber(r.succeeded)} ok · ${formatNumber(r.failed)} failed`} testId="kpi-generations" />
          </>
        )}
        <Kpi label="cost so far" value={usd(run.cost_usd)} testId="kpi-cost" />
        {f && (
          <>
            <Kpi label="accepted" value={`${formatNumber(f.accepted)} (${formatNumber(f.acceptance_rate * 100)}%)`} testId="kpi-accepted" />
            <Kpi label="cost per accepted trace" value={perAccepted == null ? "—" : usd(perAccepted)} testId="kpi-cost-per-accepted" />
          </>
        )}
        {r && r.truncated > 0 && <Kpi label="truncated" value={formatNumber(r.truncated)} testId="kpi-truncated" />}
      </div>
      {f && Object.keys(f.by_verifier).length > 0 && (
        <table className="table compact" data-testid="acceptance-by-verifier">
          <thead>
            <tr>
              <th>verifier</th>
              <th>passed</th>
              <th>wrong</th>
              <th>could not decide</th>
              <th>pass rate</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(f.by_verifier).map(([name, c]) => {
              const undecided = c.unparseable + c.timeout + c.error + c.reference_unparseable;
              const total = c.passed + c.wrong + undecided;
              return (
                <tr key={name} data-testid="verifier-row" data-verifier={name}>
                  <td>{name}</td>
                  <td>{formatNumber(c.passed)}</td>
                  <td>{formatNumber(c.wrong)}</td>
                  <td title={`unparseable ${c.unparseable}, timeout ${c.timeout}, error ${c.error}, reference unparseable ${c.reference_unparseable}`}>
                    {formatNumber(undecided)}
                  </td>
                  <td>
                    <span className="rate-bar" style={{ ["--rate" as string]: total ? c.passed / total : 0 }} />
                    {total ? `${formatNumber((c.passed / total) * 100)}%` : "—"}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {j && (
        <p className="small" data-testid="judge-tally">
          judge (rubric v{j.rubric_version}): {formatNumber(j.accepted)} accepted · {formatNumber(j.rejected)} rejected ·{" "}
          {formatNumber(j.unsure)} unsure · {formatNumber(j.unparseable)} unparseable
          {j.errors > 0 && ` · ${formatNumber(j.errors)} errors`} · thresholds accept ≥ {j.thresholds.accept}, reject &lt;{" "}
          {j.thresholds.reject} ({j.thresholds.source})
        </p>
      )}
    </div>
  );
}

function Kpi({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="kpi" data-testid={testId}>
      <span className="kpi-label">{label}</span>
      <span className="kpi-value">{value}</span>
    </div>
  );
}
