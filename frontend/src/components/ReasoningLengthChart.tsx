import type { Schemas } from "../api/client";
import { formatNumber } from "../lib/format";

type Report = Schemas["ReasoningLength"];

const pct = (x: number) => `${formatNumber(x * 100)}%`;

/**
 * Accuracy against reasoning length for one model: passing and failing answers per think-token bin as
 * stacked bars (a small SVG: a handful of bins needs no chart library), then the accuracy at each budget
 * cut-off, where answers whose reasoning runs past the cut-off count as failures.
 */
export function ReasoningLengthChart({ label, report }: { label: string; report: Report }) {
  const bins = report.passing.map((p, i) => ({ p, f: report.failing[i] ?? 0, lo: report.edges[i], hi: report.edges[i + 1] }));
  const top = Math.max(1, ...bins.map((b) => b.p + b.f));
  const width = 640;
  const plotH = 120;
  const barW = bins.length ? (width - 40) / bins.length : 0;
  const h = (n: number) => (n / top) * plotH;
  return (
    <section className="reasoning-length" data-testid="reasoning-length" data-label={label}>
      <h4>{label}: accuracy against reasoning length</h4>
      {bins.length === 0 ? (
        <p className="muted" data-testid="reasoning-length-empty">No answer with a known reasoning length.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${plotH + 24}`} width="100%" style={{ maxWidth: width }} role="img"
             aria-label={`think tokens of passing and failing answers, ${label}`}>
          {bins.map((b, i) => (
            <g key={i} data-testid="think-bin" data-passing={b.p} data-failing={b.f}>
              <title>{`${b.lo}–${b.hi} think tokens: ${b.p} passed, ${b.f} failed`}</title>
              <rect x={20 + i * barW + 1} y={plotH - h(b.p)} width={barW - 2} height={h(b.p)} className="think-pass" />
              <rect x={20 + i * barW + 1} y={plotH - h(b.p) - h(b.f)} width={barW - 2} height={h(b.f)} className="think-fail" />
            </g>
          ))}
          <text x={20} y={plotH + 16} className="eval-axis">0</text>
          <text x={width - 20} y={plotH + 16} textAnchor="end" className="eval-axis">
            {formatNumber(report.edges[report.edges.length - 1])} think tokens
          </text>
        </svg>
      )}
      <table className="table compact" data-testid="budget-table">
        <thead>
          <tr>
            <th>budget (think tokens)</th>
            <th>accuracy</th>
            <th>answers within</th>
          </tr>
        </thead>
        <tbody>
          {report.at_budget.map((b) => (
            <tr key={b.budget} data-testid="budget-row">
              <td>{formatNumber(b.budget)}</td>
              <td>{pct(b.accuracy)}</td>
              <td>{formatNumber(b.within)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.unknown > 0 && <p className="muted">{report.unknown} answers of unknown length (failed requests) are in no bin.</p>}
    </section>
  );
}
