/**
 * <BarChart>: one series of labelled bars (histograms, counts per category), recharts SVG, theme colours.
 *
 *   <BarChart title="Prompt length (characters)" data={[{ label: "0–50", value: 12 }, ...]} />
 */
import { useMemo } from "react";
import { Bar, BarChart as RBarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { cssVar, useTheme } from "../../theme";
import "./charts.css";

export interface Bar {
  label: string;
  value: number;
}

export interface BarChartProps {
  data: Bar[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  height?: number;
  width?: number;
  color?: string;
  emptyText?: string;
  testId?: string;
}

export function BarChart({
  data,
  title,
  xLabel,
  yLabel,
  height = 220,
  width,
  color,
  emptyText = "No data yet.",
  testId = "bar-chart",
}: BarChartProps) {
  const theme = useTheme();
  const colors = useMemo(
    () => ({ bar: cssVar("--chart-1") || "#3b5bdb", grid: cssVar("--border") || "#e2e5ea", text: cssVar("--muted") || "#667085", card: cssVar("--card") || "#fff" }),
    // theme is the dependency on purpose: cssVar reads the variables the theme just set.
    [theme],
  );
  const chart = (
    <RBarChart data={data} width={width} height={height} margin={{ top: 8, right: 16, bottom: xLabel ? 18 : 4, left: 4 }}>
      <CartesianGrid stroke={colors.grid} strokeDasharray="3 3" vertical={false} />
      <XAxis
        dataKey="label"
        stroke={colors.text}
        interval="preserveStartEnd"
        label={xLabel ? { value: xLabel, position: "insideBottom", offset: -10, fill: colors.text } : undefined}
      />
      <YAxis
        stroke={colors.text}
        allowDecimals={false}
        width={56}
        label={yLabel ? { value: yLabel, angle: -90, position: "insideLeft", fill: colors.text } : undefined}
      />
      <Tooltip contentStyle={{ background: colors.card, borderColor: colors.grid }} cursor={{ fill: colors.grid }} />
      <Bar dataKey="value" name={yLabel ?? "count"} fill={color ?? colors.bar} isAnimationActive={false} />
    </RBarChart>
  );
  return (
    <figure className="chart" data-testid={testId}>
      {title && <figcaption className="chart-title">{title}</figcaption>}
      {data.length === 0 ? (
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
