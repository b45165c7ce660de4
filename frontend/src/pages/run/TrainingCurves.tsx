import type { Schemas } from "../../api/client";
import { LineChart, type Series } from "../../components/charts/LineChart";
import { formatNumber } from "../../lib/format";
import { PreflightReport } from "./Preflight";

type Train = Schemas["TrainSummary"];
type CheckpointPoint = Schemas["CheckpointPoint"];
type Point = Schemas["TrainPoint"];
type Key = Exclude<keyof Point, "step">;

const curve = (pts: Point[], key: Key) => pts.filter((p) => p[key] != null).map((p) => ({ x: p.step, y: p[key] as number }));
const exp = (y: number) => (y === 0 ? "0" : y.toExponential(1));
const pct = (y: number) => `${formatNumber(y * 100)}%`;

interface Chart {
  testId: string;
  title: string;
  series: Series[];
  formatY?: (y: number) => string;
  emptyText?: string;
}

/** The method's own signals beside the loss: DPO's reward margin and accuracy, GRPO's reward and the share
 * of prompts none of whose completions scored (they teach nothing), kd's cross-entropy and KL to the teacher's
 * cached top-K (the two parts its loss mixes). SFT and distill have the loss alone. */
function signals(pts: Point[]): Chart[] {
  const charts: Chart[] = [];
  const margin = curve(pts, "reward_margin");
  const accuracy = curve(pts, "reward_accuracy");
  if (margin.length) charts.push({ testId: "reward-margin-chart", title: "Reward margin (chosen − rejected)", series: [{ name: "margin", points: margin }] });
  if (accuracy.length) charts.push({ testId: "reward-accuracy-chart", title: "Reward accuracy (chosen ranked first)", series: [{ name: "accuracy", points: accuracy }], formatY: pct });
  const reward = curve(pts, "reward");
  if (reward.length) {
    const spread = curve(pts, "reward_std");
    charts.push({ testId: "reward-chart", title: "Reward", series: [{ name: "mean reward", points: reward }, ...(spread.length ? [{ name: "std", points: spread, dashed: true }] : [])] });
  }
  const ce = curve(pts, "ce");
  const kl = curve(pts, "kl");
  if (ce.length || kl.length) charts.push({ testId: "kd-parts-chart", title: "The loss's parts (kd)", series: [{ name: "cross-entropy", points: ce }, { name: "KL to the teacher", points: kl, dashed: true }] });
  const zero = curve(pts, "zero_reward_groups");
  if (zero.length) charts.push({ testId: "zero-reward-chart", title: "Prompts with no reward", series: [{ name: "share of prompts", points: zero }], formatY: pct });
  return charts;
}

/** Held-out accuracy at each evaluated checkpoint (evaluate.checkpoints), with its 95% interval: drawn next
 * to the loss, so a curve that stops rising (under-trained: more steps would pay) or falls while the loss
 * still drops (over-trained: an earlier checkpoint is the better model) shows. */
function accuracyChart(points: CheckpointPoint[]): Chart {
  const at = (y: (p: CheckpointPoint) => number) => points.map((p) => ({ x: p.step, y: y(p) }));
  return {
    testId: "checkpoint-accuracy-chart",
    title: "Held-out accuracy per checkpoint (pass@1)",
    series: [
      { name: "pass@1", points: at((p) => p.pass_at_1) },
      { name: "95% low", points: at((p) => p.pass_at_1_ci[0]), dashed: true },
      { name: "95% high", points: at((p) => p.pass_at_1_ci[1]), dashed: true },
    ],
    formatY: pct,
    emptyText: "No checkpoint evaluated yet (the evaluate stage scores them after training).",
  };
}

/** Where the held-out accuracy peaked, against the last checkpoint's. */
function verdict(points: CheckpointPoint[]): string | null {
  if (points.length < 2) return null;
  const best = points.reduce((a, b) => (b.pass_at_1 > a.pass_at_1 ? b : a));
  const last = points[points.length - 1];
  if (best.step === last.step) return `Best at the last checkpoint (step ${formatNumber(last.step)}, ${pct(last.pass_at_1)}): more steps may still pay.`;
  const below = last.pass_at_1_ci[1] < best.pass_at_1;
  return `Best at step ${formatNumber(best.step)} (${pct(best.pass_at_1)}); the last checkpoint (step ${formatNumber(last.step)}) scores ${pct(last.pass_at_1)}${below ? ", below it beyond its interval: over-training?" : ""}.`;
}

/**
 * The train stage's live view (its metrics while it runs, the run's summary after): the pre-flight report
 * (stored before the first step), any warning that it learns nothing, and the loss, learning-rate and
 * grad-norm curves with the method's own signals, which grow as the run page polls.
 */
export function TrainingCurves({
  train,
  live = false,
  checkpoints = [],
  checkpointsAsked = false,
}: {
  train: Train;
  live?: boolean;
  /** The evaluated checkpoints (evaluate.checkpoints), by step. */
  checkpoints?: CheckpointPoint[];
  /** The recipe asks for them: the chart waits for its first point instead of being left out. */
  checkpointsAsked?: boolean;
}) {
  const pts = train.series;
  const charts: Chart[] = [
    { testId: "loss-chart", title: train.method === "distill" ? "Distillation loss (KL to the teacher)" : "Training loss", series: [{ name: "loss", points: curve(pts, "loss") }] },
    ...(checkpoints.length || checkpointsAsked ? [accuracyChart(checkpoints)] : []),
    { testId: "lr-chart", title: "Learning rate", series: [{ name: "learning rate", points: curve(pts, "learning_rate") }], formatY: exp },
    { testId: "grad-norm-chart", title: "Grad norm", series: [{ name: "grad norm", points: curve(pts, "grad_norm") }] },
    ...signals(pts),
  ];
  return (
    <div className="training" data-testid="training" data-live={live} data-steps={pts.length}>
      <p className="small">
        {train.method || "train"} · step {formatNumber(train.step)}
        {train.max_steps ? ` / ${formatNumber(train.max_steps)}` : ""}
        {train.epoch != null && ` · epoch ${formatNumber(train.epoch)}`}
        {train.loss != null && ` · loss ${formatNumber(train.loss)}`}
        {train.tokens_per_s != null && ` · ${formatNumber(train.tokens_per_s)} tokens/s`}
        {train.examples != null && ` · ${formatNumber(train.examples)} examples`}
        {train.resumed_from_step != null && ` · resumed from step ${formatNumber(train.resumed_from_step)}`}
      </p>
      {train.warnings.length > 0 && (
        <ul className="train-warnings" role="alert" data-testid="train-warnings">
          {train.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {train.excluded_too_long > 0 && (
        <p className="warnings" data-testid="train-left-out">
          <strong>
            {formatNumber(train.excluded_too_long)} of {formatNumber((train.examples ?? 0) + train.excluded_too_long)} examples too long, left out
          </strong>
          {train.max_length != null && ` (over max_length ${formatNumber(train.max_length)} tokens)`}
        </p>
      )}
      <PreflightReport checks={train.checks} maxLength={train.max_length} />
      {checkpoints.length > 0 && verdict(checkpoints) && (
        <p className="small" data-testid="checkpoint-verdict">
          {verdict(checkpoints)}
        </p>
      )}
      <div className="charts-row">
        {charts.map((c) => {
          const n = Math.max(0, ...c.series.map((s) => s.points.length));
          return (
            <div key={c.testId} data-testid={c.testId} data-points={n} data-live={live && n > 0}>
              <LineChart title={c.title} xLabel="step" height={220} series={c.series} formatY={c.formatY} emptyText={c.emptyText ?? (live ? "Waiting for the first logged step…" : "No steps logged.")} />
            </div>
          );
        })}
      </div>
    </div>
  );
}
