import { describe, expect, it } from "vitest";
import {
  formatDuration,
  formatMetric,
  formatProgress,
  isFinished,
  parseTimestamp,
  percentileKeys,
  progressPercent,
} from "./format";

describe("progress formatting", () => {
  it("formats done/total with a percentage", () => {
    expect(formatProgress(40, 120)).toBe("40 / 120 (33%)");
    expect(formatProgress(1234, 5000)).toBe("1,234 / 5,000 (24%)");
    expect(formatProgress(120, 120)).toBe("120 / 120 (100%)");
  });

  it("shows an unknown total as ?", () => {
    expect(formatProgress(7, null)).toBe("7 / ?");
    expect(progressPercent(7, null)).toBeNull();
  });

  it("clamps and handles a zero total", () => {
    expect(progressPercent(0, 0)).toBe(0);
    expect(progressPercent(3, 0)).toBe(100);
    expect(progressPercent(150, 100)).toBe(100);
    expect(progressPercent(99, 100)).toBe(99);
  });
});

describe("time formatting", () => {
  it("treats naive timestamps as UTC", () => {
    expect(parseTimestamp("2026-01-01T00:00:00").toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(parseTimestamp("2026-01-01T01:00:00+01:00").toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("formats durations", () => {
    expect(formatDuration(null, null)).toBe("—");
    expect(formatDuration("2026-01-01T00:00:00", "2026-01-01T00:00:04")).toBe("4s");
    expect(formatDuration("2026-01-01T00:00:00", "2026-01-01T00:03:05")).toBe("3m 05s");
    expect(formatDuration("2026-01-01T00:00:00", "2026-01-01T02:01:00")).toBe("2h 01m");
    const now = Date.parse("2026-01-01T00:00:10Z");
    expect(formatDuration("2026-01-01T00:00:00", null, now)).toBe("10s");
  });
});

describe("statuses and metrics", () => {
  it("knows which statuses are final", () => {
    expect(["succeeded", "failed", "cancelled"].every((s) => isFinished(s as never))).toBe(true);
    expect(["pending", "queued", "running", "cancelling"].some((s) => isFinished(s as never))).toBe(false);
  });

  it("formats metric values", () => {
    expect(formatMetric(1234.567)).toBe("1,234.57");
    expect(formatMetric(true)).toBe("yes");
    expect(formatMetric({ a: 1 })).toBe('{"a":1}');
    expect(formatMetric(null)).toBe("—");
  });
});

describe("profile summary", () => {
  it("orders percentiles numerically", () => {
    const chars = { min: 1, max: 9, mean: 5, percentiles: { p99: 9, p50: 5, p9: 2 } };
    expect(percentileKeys([chars])).toEqual(["p9", "p50", "p99"]);
  });
});
