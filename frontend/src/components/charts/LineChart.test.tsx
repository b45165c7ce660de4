import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LineChart, xDomain } from "./LineChart";

describe("LineChart", () => {
  it("draws one line per series with a legend", () => {
    const { container } = render(
      <LineChart
        width={500}
        height={200}
        title="Loss"
        xLabel="step"
        series={[
          { name: "train", points: [{ x: 1, y: 2 }, { x: 2, y: 1.5 }, { x: 3, y: 1.2 }] },
          { name: "eval", points: [{ x: 2, y: 1.8 }] },
        ]}
      />,
    );
    expect(screen.getByText("Loss")).toBeInTheDocument();
    expect(container.querySelectorAll(".recharts-line").length).toBe(2);
    expect(screen.getByText("train")).toBeInTheDocument();
    expect(screen.getByText("eval")).toBeInTheDocument();
  });

  it("says so when there is nothing to draw", () => {
    render(<LineChart width={300} series={[{ name: "train", points: [] }]} emptyText="No steps yet." />);
    expect(screen.getByTestId("line-chart-empty")).toHaveTextContent("No steps yet.");
  });

  it("computes the shared x-domain", () => {
    expect(xDomain([{ name: "a", points: [{ x: 3, y: 1 }] }, { name: "b", points: [{ x: -1, y: 0 }, { x: 7, y: 0 }] }])).toEqual([-1, 7]);
    expect(xDomain([])).toBeNull();
  });
});
