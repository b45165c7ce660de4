import type { Schemas } from "../../api/client";
import { ReasoningLengthChart } from "../../components/ReasoningLengthChart";
import { formatNumber } from "../../lib/format";

type Score = Schemas["ModelScore"];

const ROLE_ORDER = ["base", "student", "teacher", "other"];
const pct = (x: number) => `${formatNumber(x * 100)}%`;

/**
 * Base, student and teacher side by side: pass@1 as bars with their bootstrap 95% intervals as
 * whiskers (a small SVG: one value and one interval per model needs no chart library), then the table.
 */
export function EvaluationComparison({ scores, comparison }: { scores: Score[]; comparison?: Schemas["Comparison"] | null }) {
  const scored = scores
    .map((m) => ({ id: m.evaluation_id, label: m.label, role: m.role, model: m.model, metrics: m }))
    .sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.id - b.id);
  if (scored.length === 0) return <p className="muted">No model has been scored yet.</p>;
  const rowH = 34;
  const left = 150;
  const width = 640;
  const plotW = width - left - 60;
  const height = scored.length * rowH + 30;
  const x = (v: number) => left + Math.max(0, Math.min(1, v)) * plotW;
  return (
    <div className="evaluation" data-testid="evaluation">
      <svg
        className="eval-chart"
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        style={{ maxWidth: width }}
        role="img"
        aria-label="pass@1 with 95% intervals per model"
        data-testid="eval-chart"
      >
        {[0, 0.25, 0.5, 0.75, 1].map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={0} y2={height - 22} className="eval-grid" />
            <text x={x(t)} y={height - 6} textAnchor="middle" className="eval-axis">
              {t * 100}%
            </text>
          </g>
        ))}
        {scored.map((e, i) => {
          const m = e.metrics;
          const y = i * rowH + 6;
          const [lo, hi] = m.pass_at_1_ci;
          return (
            <g key={e.id} data-testid="eval-bar" data-role={e.role}>
              <text x={left - 8} y={y + rowH / 2} textAnchor="end" dominantBaseline="middle" className="eval-label">
                {e.label}
              </text>
              <rect x={left} y={y + 4} width={x(m.pass_at_1) - left} height={rowH - 14} className={`eval-bar role-${e.role}`} />
              <line x1={x(lo)} x2={x(hi)} y1={y + rowH / 2 - 3} y2={y + rowH / 2 - 3} className="eval-ci" />
              <line x1={x(lo)} x2={x(lo)} y1={y + 8} y2={y + rowH - 14} className="eval-ci" />
              <line x1={x(hi)} x2={x(hi)} y1={y + 8} y2={y + rowH - 14} className="eval-ci" />
              <text x={x(hi) + 6} y={y + rowH / 2} dominantBaseline="middle" className="eval-value">
                {pct(m.pass_at_1)}
              </text>
            </g>
          );
        })}
      </svg>
      <table className="table compact" data-testid="eval-table">
        <thead>
          <tr>
            <th>model</th>
            <th>role</th>
            <th>pass@1</th>
            <th>95% interval</th>
            <th>pass@k</th>
            <th>maj@k</th>
            <th>samples</th>
            <th>mean output tokens</th>
            <th>truncated</th>
          </tr>
        </thead>
        <tbody>
          {scored.map((e) => (
            <tr key={e.id} data-testid="eval-row" data-role={e.role}>
              <td title={e.model}>{e.label}</td>
              <td>{e.role}</td>
              <td>{pct(e.metrics.pass_at_1)}</td>
              <td>
                {pct(e.metrics.pass_at_1_ci[0])} – {pct(e.metrics.pass_at_1_ci[1])}
              </td>
              <td>{pct(e.metrics.pass_at_k)}</td>
              <td>{pct(e.metrics.maj_at_k)}</td>
              <td>{formatNumber(e.metrics.samples)}</td>
              <td>{formatNumber(e.metrics.mean_output_tokens)}</td>
              <td>{pct(e.metrics.truncation_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {scored.map((e) => e.metrics.reasoning_length && <ReasoningLengthChart key={e.id} label={e.label} report={e.metrics.reasoning_length} />)}
      {comparison && (
        <dl className="facts" data-testid="eval-comparison">
          {comparison.gain_over_base != null && (
            <>
              <dt>gain over base</dt>
              <dd>{formatNumber(comparison.gain_over_base * 100)} points</dd>
            </>
          )}
          {comparison.gap_to_teacher != null && (
            <>
              <dt>gap to teacher</dt>
              <dd>{formatNumber(comparison.gap_to_teacher * 100)} points</dd>
            </>
          )}
          {comparison.param_ratio != null && (
            <>
              <dt>teacher / student size</dt>
              <dd>{formatNumber(comparison.param_ratio)}×</dd>
            </>
          )}
        </dl>
      )}
    </div>
  );
}
