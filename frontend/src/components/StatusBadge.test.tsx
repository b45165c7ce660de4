import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { partlyFailedOf, StatusBadge } from "./StatusBadge";
import { ProgressBar } from "./ProgressBar";
import type { RunStatus } from "../api/client";

const ALL: RunStatus[] = ["pending", "queued", "running", "succeeded", "failed", "cancelling", "cancelled"];

describe("StatusBadge", () => {
  it.each(ALL)("renders %s with its own style", (status) => {
    render(<StatusBadge status={status} />);
    const badge = screen.getByTestId("status-badge");
    expect(badge).toHaveTextContent(status);
    expect(badge).toHaveAttribute("data-status", status);
    expect(badge).toHaveClass("badge", `badge-${status}`);
  });
});

describe("partly failed", () => {
  it("marks a succeeded status whose summary says attempts failed", () => {
    const note = partlyFailedOf({ rollout: { partly_failed: "2 of 6 attempts failed (http 500: 2)" } });
    render(<StatusBadge status="succeeded" partlyFailed={note} />);
    expect(screen.getByTestId("partly-failed")).toHaveAttribute("title", "2 of 6 attempts failed (http 500: 2)");
  });

  it("adds nothing when no attempt failed", () => {
    render(<StatusBadge status="succeeded" partlyFailed={partlyFailedOf({ rollout: { partly_failed: null } })} />);
    expect(screen.queryByTestId("partly-failed")).toBeNull();
  });
});

describe("ProgressBar", () => {
  it("shows done/total and fills to the percentage", () => {
    render(<ProgressBar done={30} total={120} label="profile progress" />);
    const bar = screen.getByRole("progressbar", { name: "profile progress" });
    expect(bar).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByTestId("progress-text")).toHaveTextContent("30 / 120 (25%)");
    expect(bar.firstElementChild).toHaveStyle({ width: "25%" });
  });

  it("is indeterminate while the total is unknown", () => {
    render(<ProgressBar done={5} total={null} />);
    const bar = screen.getByRole("progressbar");
    expect(bar).not.toHaveAttribute("aria-valuenow");
    expect(bar).toHaveClass("progress-indeterminate");
    expect(screen.getByTestId("progress-text")).toHaveTextContent("5 / ?");
  });
});
