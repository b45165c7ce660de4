import type { Schemas } from "../../api/client";
import { LineChart } from "../../components/charts/LineChart";
import { formatNumber } from "../../lib/format";

type Train = Schemas["TrainSummary"];

/** The train stage's loss and learning-rate curves (its summary's series, live while it trains). */
export function TrainingCurves({ train }: { train: Train }) {
  const pts = train.series;
  const loss = pts.filter((p) => p.loss != null).map((p) => ({ x: p.step, y: p.loss as number }));
  const lr = pts.filter((p) => p.learning_rate != null).map((p) => ({ x: p.step, y: p.learning_rate as number }));
  const reward = pts.filter((p) => p.reward != null).map((p) => ({ x: p.step, y: p.reward as number }));
  return (
    <div className="training" data-testid="training">
      <p className="small">
        {train.method || "train"} · step {formatNumber(train.step)}
        {train.max_steps ? ` / ${formatNumber(train.max_steps)}` : ""}
        {train.epoch != null && ` · epoch ${formatNumber(train.epoch)}`}
        {train.loss != null && ` · loss ${formatNumber(train.loss)}`}
        {train.tokens_per_s != null && ` · ${formatNumber(train.tokens_per_s)} tokens/s`}
        {train.examples != null && ` · ${formatNumber(train.examples)} examples`}
        {train.excluded_too_long > 0 && ` (${formatNumber(train.excluded_too_long)} too long, left out)`}
        {train.resumed_from_step != null && ` · resumed from step ${formatNumber(train.resumed_from_step)}`}
      </p>
      <div className="charts-row">
        <div data-testid="loss-chart" data-points={loss.length}>
          <LineChart title="Training loss" xLabel="step" height={220} series={[{ name: "loss", points: loss }, ...(reward.length ? [{ name: "reward", points: reward, dashed: true }] : [])]} emptyText="No steps logged yet." />
        </div>
        <div data-testid="lr-chart" data-points={lr.length}>
          <LineChart
            title="Learning rate"
            xLabel="step"
            height={220}
            series={[{ name: "learning rate", points: lr }]}
            formatY={(y) => (y === 0 ? "0" : y.toExponential(1))}
            emptyText="No steps logged yet."
          />
        </div>
      </div>
      {train.checks.some((c) => !c.passed) && (
        <ul className="warnings" data-testid="train-checks">
          {train.checks
            .filter((c) => !c.passed)
            .map((c) => (
              <li key={c.name} title={c.help}>
                {c.name}: {formatNumber(c.count)} of {formatNumber(c.total)}
                {c.overridden ? " (waived)" : ""}
                {c.fix ? ` — ${c.fix}` : ""}
              </li>
            ))}
        </ul>
      )}
    </div>
  );
}
