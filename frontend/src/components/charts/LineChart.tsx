/**
 * <LineChart>: the dashboard's one line-chart wrapper (recharts, SVG). Each series has its own points, so
 * curves sampled at different x (loss per step, eval per epoch) share one chart. Colours come from the
 * theme's --chart-N variables and follow the light/dark toggle.
 *
 *   <LineChart title="Training loss" xLabel="step" yLabel="loss"
 *              series={[{ name: "train", points: [{ x: 1, y: 2.3 }, ...] }]} />
 */
import { useMemo } from "react";
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart as RLineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { cssVar, useTheme } from "../../theme";
import "./charts.css";

export interface Point {
  x: number;
  y: number | null;
}

export interface Series {
  name: string;
  points: Point[];
  /** A CSS colour; defaults to the theme's --chart-N for the series' position. */
  color?: string;
  dashed?: boolean;
}

export interface LineChartProps {
  series: Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  height?: number;
  /** A fixed width in px; by default the chart fills its container's width. */
  width?: number;
  logY?: boolean;
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
  /** Shown instead of the chart when no series has a point. */
  emptyText?: string;
  testId?: string;
}

const PALETTE_SIZE = 6;

/** The x-domain [min, max] over all series (for a shared axis), or null when there are no points. */
export function xDomain(series: Series[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      if (p.x < lo) lo = p.x;
      if (p.x > hi) hi = p.x;
    }
  }
  return lo === Infinity ? null : [lo, hi];
}

const defaultFormat = (v: number) =>
  Math.abs(v) >= 1000 || v === 0 || Math.abs(v) < 0.001 ? v.toLocaleString("en-US", { maximumFractionDigits: 3 }) : String(Number(v.toPrecision(4)));

export function LineChart({
  series,
  title,
  xLabel,
  yLabel,
  height = 240,
  width,
  logY = false,
  formatX = defaultFormat,
  formatY = defaultFormat,
  emptyText = "No data yet.",
  testId = "line-chart",
}: LineChartProps) {
  const theme = useTheme();
  // Re-read the theme's colours whenever it changes.
  const colors = useMemo(() => {
    const palette = Array.from({ length: PALETTE_SIZE }, (_, i) => cssVar(`--chart-${i + 1}`) || "#3b5bdb");
    return { palette, grid: cssVar("--border") || "#e2e5ea", text: cssVar("--muted") || "#667085", card: cssVar("--card") || "#fff" };
    // theme is the dependency on purpose: cssVar reads the variables the theme just set.
  }, [theme]);
  const domain = xDomain(series);

  const chart = (
    <RLineChart width={width} height={height} margin={{ top: 8, right: 16, bottom: xLabel ? 18 : 4, left: 4 }}>
      <CartesianGrid stroke={colors.grid} strokeDasharray="3 3" />
      <XAxis
        type="number"
        dataKey="x"
        domain={domain ?? [0, 1]}
        tickFormatter={formatX}
        stroke={colors.text}
        label={xLabel ? { value: xLabel, position: "insideBottom", offset: -10, fill: colors.text } : undefined}
        allowDuplicatedCategory={false}
      />
      <YAxis
        type="number"
        scale={logY ? "log" : "auto"}
        domain={["auto", "auto"]}
        tickFormatter={formatY}
        stroke={colors.text}
        width={56}
        label={yLabel ? { value: yLabel, angle: -90, position: "insideLeft", fill: colors.text } : undefined}
      />
      <Tooltip
        formatter={(v) => (typeof v === "number" ? formatY(v) : String(v))}
        labelFormatter={(x) => (typeof x === "number" ? `${xLabel ?? "x"} ${formatX(x)}` : String(x))}
        contentStyle={{ background: colors.card, borderColor: colors.grid }}
      />
      {series.length > 1 && <Legend />}
      {series.map((s, i) => (
        <Line
          key={s.name}
          name={s.name}
          data={s.points}
          dataKey="y"
          type="linear"
          stroke={s.color ?? colors.palette[i % PALETTE_SIZE]}
          strokeWidth={2}
          strokeDasharray={s.dashed ? "5 4" : undefined}
          dot={s.points.length <= 30}
          isAnimationActive={false}
          connectNulls={false}
        />
      ))}
    </RLineChart>
  );

  return (
    <figure className="chart" data-testid={testId}>
      {title && <figcaption className="chart-title">{title}</figcaption>}
      {domain === null ? (
        <p className="muted chart-empty" data-testid={`${testId}-empty`}>
          {emptyText}
        </p>
      ) : width !== undefined ? (
        chart
      ) : (
        <ResponsiveContainer width="100%" height={height}>
          {chart}
        </ResponsiveContainer>
      )}
    </figure>
  );
}
