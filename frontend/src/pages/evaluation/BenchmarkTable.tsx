import { useQuery } from "@tanstack/react-query";
import type { Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { benchmarksQuery } from "../../api/queries";
import { LIVE_REFRESH_MS } from "../../lib/live";

type Result = Schemas["BenchmarkResultOut"];

interface Line {
  task: string;
  metric: string;
  filter: string;
}

/** lm-eval's keys are "metric,filter"; its standard errors "metric_stderr,filter". */
function lines(results: Result[]): Line[] {
  const seen = new Map<string, Line>();
  for (const r of results) {
    for (const key of Object.keys(r.metrics).sort()) {
      const [metric, filter = ""] = key.split(",");
      if (metric.endsWith("_stderr")) continue;
      const id = `${r.task}\u0000${key}`;
      if (!seen.has(id)) seen.set(id, { task: r.task, metric, filter });
    }
  }
  return [...seen.values()].sort((a, b) => a.task.localeCompare(b.task) || a.metric.localeCompare(b.metric) || a.filter.localeCompare(b.filter));
}

function value(r: Result | undefined, l: Line): string {
  if (!r) return "–";
  const v = r.metrics[`${l.metric},${l.filter}`];
  if (v === null || v === undefined) return "–";
  const se = r.metrics[`${l.metric}_stderr,${l.filter}`];
  return se === null || se === undefined ? v.toFixed(3) : `${v.toFixed(3)} ± ${se.toFixed(3)}`;
}

/** The run's standard-benchmark scores (its benchmark stage, through lm-evaluation-harness): one row per
 * task and metric, one column per model, beside the in-task scores. Nothing when the run has none. */
export function BenchmarkTable({ projectId, runId, live }: { projectId: number; runId: number; live: boolean }) {
  const q = useQuery({ ...benchmarksQuery(projectId, runId), refetchInterval: live ? LIVE_REFRESH_MS : false });
  if (q.error) {
    return (
      <div className="card">
        <h2>Benchmarks</h2>
        <p className="error" data-testid="benchmark-error">
          {errorMessage(q.error)}
        </p>
      </div>
    );
  }
  const results = q.data ?? [];
  if (results.length === 0) return null;
  const models = [...new Set(results.map((r) => r.label || r.role))];
  const rows = lines(results);
  const hashes = [...new Set(results.map((r) => r.config_hash))];
  return (
    <div className="card">
      <h2>Benchmarks</h2>
      <p className="small muted">
        lm-evaluation-harness {results[0].lm_eval_version} over local task files; think tokens stripped before scoring.
      </p>
      <table className="table compact" data-testid="benchmark-table">
        <thead>
          <tr>
            <th>Task</th>
            <th>Metric</th>
            {models.map((m) => (
              <th key={m}>{m}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((l) => (
            <tr key={`${l.task},${l.metric},${l.filter}`} data-testid="benchmark-row" data-task={l.task}>
              <td>
                <strong>{l.task}</strong>
                <span className="small muted"> ({results.find((r) => r.task === l.task)?.samples ?? 0} docs)</span>
              </td>
              <td>
                {l.metric}
                {l.filter && l.filter !== "none" ? <span className="small muted"> {l.filter}</span> : null}
              </td>
              {models.map((m) => (
                <td key={m}>{value(results.find((r) => (r.label || r.role) === m && r.task === l.task), l)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted" data-testid="benchmark-hashes">
        config hash{hashes.length > 1 ? "es" : ""}: {hashes.map((h) => h.slice(0, 12)).join(", ")}
      </p>
    </div>
  );
}
