import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../../test/helpers";
import { BenchmarkTable } from "./BenchmarkTable";

const result = (id: number, label: string, task: string, metrics: Record<string, number | null>) => ({
  id,
  run_id: 2,
  stage_id: 9,
  artifact_id: null,
  label,
  role: label === "teacher" ? "teacher" : "student",
  model: `m-${label}`,
  task,
  suite: "/srv/benchmarks/tiny",
  metrics,
  samples: task === "tiny_mmlu" ? 20 : 8,
  lm_eval_version: "0.4.13",
  config_hash: `${id}`.repeat(64).slice(0, 64),
  created_at: "2026-12-08T03:00:00Z",
});

describe("BenchmarkTable", () => {
  it("shows one row per task and metric, one column per model, value ± stderr", async () => {
    mockApi({
      "GET /api/projects/1/runs/2/benchmarks": () =>
        jsonResponse([
          result(1, "student", "tiny_arith", { "exact_match,strict": 0.5, "exact_match_stderr,strict": 0.189 }),
          result(2, "student", "tiny_mmlu", { "acc,none": 0.25, "acc_stderr,none": null }),
          result(3, "teacher", "tiny_arith", { "exact_match,strict": 0.875, "exact_match_stderr,strict": 0.125 }),
        ]),
    });
    renderWithClient(<BenchmarkTable projectId={1} runId={2} live={false} />);
    const table = await screen.findByTestId("benchmark-table");
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Task", "Metric", "student", "teacher"]);
    const rows = screen.getAllByTestId("benchmark-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("tiny_arith");
    expect(rows[0]).toHaveTextContent("(8 docs)");
    expect(rows[0]).toHaveTextContent("exact_match strict");
    expect(rows[0]).toHaveTextContent("0.500 ± 0.189");
    expect(rows[0]).toHaveTextContent("0.875 ± 0.125");
    // no standard error stored: the value alone; a model that did not run the task: a dash
    expect(rows[1]).toHaveTextContent("acc");
    expect(rows[1]).toHaveTextContent("0.250");
    expect(rows[1]).not.toHaveTextContent("±");
    expect(within(rows[1]).getAllByRole("cell")[3]).toHaveTextContent("–");
    expect(screen.getByText(/lm-evaluation-harness 0.4.13/)).toBeInTheDocument();
  });

  it("renders nothing for a run without benchmarks, and the error where the request fails", async () => {
    const fetchMock = mockApi({ "GET /api/projects/1/runs/2/benchmarks": () => jsonResponse([]) });
    const { client, container } = renderWithClient(<BenchmarkTable projectId={1} runId={2} live={false} />);
    await waitFor(() => expect(requestsTo(fetchMock, "/api/projects/1/runs/2/benchmarks")).toHaveLength(1));
    await waitFor(() => expect(client.getQueryState(["benchmarks", 1, 2])?.status).toBe("success"));
    expect(container).toBeEmptyDOMElement();

    mockApi({});
    renderWithClient(<BenchmarkTable projectId={1} runId={3} live={false} />);
    expect(await screen.findByTestId("benchmark-error")).toHaveTextContent("no mock for GET /api/projects/1/runs/3/benchmarks");
  });
});
