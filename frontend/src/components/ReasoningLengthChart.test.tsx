import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ReasoningLengthChart } from "./ReasoningLengthChart";

describe("ReasoningLengthChart", () => {
  it("draws passing and failing answers per bin and the accuracy at each budget", () => {
    render(
      <ReasoningLengthChart
        label="student"
        report={{
          edges: [0, 500, 1000],
          passing: [3, 1],
          failing: [0, 2],
          at_budget: [
            { budget: 500, accuracy: 0.5, within: 3 },
            { budget: 1000, accuracy: 0.6667, within: 6 },
          ],
          unknown: 1,
        }}
      />,
    );
    const bins = screen.getAllByTestId("think-bin");
    expect(bins.map((b) => [b.dataset.passing, b.dataset.failing])).toEqual([["3", "0"], ["1", "2"]]);
    const rows = screen.getAllByTestId("budget-row").map((r) => Array.from(r.querySelectorAll("td"), (td) => td.textContent));
    expect(rows).toEqual([["500", "50%", "3"], ["1,000", "66.67%", "6"]]); // budget, accuracy, answers within
    expect(screen.getByText(/1 answers of unknown length/)).toBeInTheDocument();
  });

  it("says so when no answer has a known length", () => {
    render(<ReasoningLengthChart label="base" report={{ edges: [], passing: [], failing: [], at_budget: [], unknown: 2 }} />);
    expect(screen.getByTestId("reasoning-length-empty")).toBeInTheDocument();
    expect(screen.queryAllByTestId("think-bin")).toHaveLength(0);
  });
});
