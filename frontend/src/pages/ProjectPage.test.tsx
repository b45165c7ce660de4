import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { setToken } from "../api/token";
import type { Run, RunDetail } from "../api/client";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../test/helpers";
import { IDLE_REFRESH_MS, LIVE_REFRESH_MS, runsRefetchInterval } from "./ProjectPage";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "owner" };

function run(overrides: Partial<Run>): Run {
  return {
    id: 1,
    project_id: 3,
    name: "r",
    status: "queued",
    recipe: {},
    prompt_set_id: null,
    teacher_id: null,
    summary: {},
    warnings: [],
    error: null,
    created_at: "2026-01-01T00:00:00",
    started_at: null,
    finished_at: null,
    ...overrides,
  };
}

describe("runsRefetchInterval", () => {
  it("polls fast while any run is unfinished and slowly otherwise", () => {
    expect(runsRefetchInterval([run({ status: "succeeded" }), run({ status: "running" })])).toBe(LIVE_REFRESH_MS);
    expect(runsRefetchInterval([run({ status: "cancelling" })])).toBe(LIVE_REFRESH_MS);
    expect(runsRefetchInterval([run({ status: "succeeded" }), run({ status: "failed" })])).toBe(IDLE_REFRESH_MS);
    expect(LIVE_REFRESH_MS).toBeLessThanOrEqual(2000);
  });
});

describe("project page", () => {
  it("refreshes the runs list live until the run finishes", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3");
    let status: Run["status"] = "running";
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs": () =>
        jsonResponse({ items: [run({ id: 5, name: "nightly", status })], next_cursor: null }),
    });
    renderWithClient(<App />);

    const row = await screen.findByTestId("run-row");
    expect(within(row).getByTestId("run-name")).toHaveTextContent("nightly");
    expect(within(row).getByTestId("status-badge")).toHaveTextContent("running");

    status = "succeeded";
    await waitFor(() => expect(within(screen.getByTestId("run-row")).getByTestId("status-badge")).toHaveTextContent("succeeded"), {
      timeout: LIVE_REFRESH_MS + 2000,
    });
    expect(requestsTo(fetchMock, "/api/projects/3/runs").length).toBeGreaterThanOrEqual(2);
  });

  it("shows the selected run's stages, progress and profile", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/runs/5");
    const detail: RunDetail = {
      ...run({ id: 5, name: "nightly", status: "running", started_at: "2026-01-01T00:00:00" }),
      summary: {
        profile: {
          prompt_count: 1200,
          chars: { min: 3, max: 990, mean: 120.5, percentiles: { p50: 100, p90: 400, p95: 600, p99: 900 } },
          words: { min: 1, max: 160, mean: 20, percentiles: { p50: 17, p90: 70, p95: 90, p99: 150 } },
        },
      },
      stages: [
        {
          id: 11, run_id: 5, position: 1, kind: "rollout", status: "running", progress_done: 300, progress_total: 1200,
          metrics: {
            generations: 300, succeeded: 300, failed: 0, truncated: 0, from_cache: 0, failures: {}, prompt_tokens: 9000,
            completion_tokens: 45000, tokens_per_s: 150, completions_per_s: 1, cost_usd: 0, gpu_seconds: 0, elapsed_s: 300,
            chunks: { running: 1 }, attempts_skipped: 0, cost_saved_usd: 0, partly_failed: null,
          },
          error: null, created_at: "2026-01-01T00:00:00", started_at: null, finished_at: null, heartbeat_at: null, workers_lost: 1,
        },
        {
          id: 10, run_id: 5, position: 0, kind: "profile", status: "succeeded", progress_done: 1200, progress_total: 1200,
          metrics: null, error: null, created_at: "2026-01-01T00:00:00", started_at: null, finished_at: null,
          heartbeat_at: null, workers_lost: 0,
        },
      ],
    };
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs": () => jsonResponse({ items: [detail], next_cursor: null }),
      "GET /api/projects/3/runs/5": () => jsonResponse(detail),
    });
    renderWithClient(<App />);

    const panel = await screen.findByTestId("run-detail");
    const stages = within(panel).getAllByTestId("stage");
    expect(stages.map((s) => s.getAttribute("data-stage-kind"))).toEqual(["profile", "rollout"]);
    expect(within(stages[0]).getByTestId("progress-text")).toHaveTextContent("1,200 / 1,200 (100%)");
    expect(within(stages[1]).getByTestId("progress-text")).toHaveTextContent("300 / 1,200 (25%)");
    expect(within(stages[1]).getByText("completion_tokens").nextSibling).toHaveTextContent("45,000");
    expect(within(stages[1]).getByTestId("stage-11-workers-lost")).toHaveTextContent("worker was lost (1×)");
    expect(within(stages[0]).queryByTestId("stage-10-workers-lost")).toBeNull();

    expect(within(panel).getByTestId("profile-prompt-count")).toHaveTextContent("1,200");
    const chars = within(panel).getByTestId("profile-characters");
    expect(Array.from(chars.querySelectorAll("td")).map((td) => td.textContent)).toEqual([
      "characters", "3", "100", "400", "600", "900", "990", "120.5",
    ]);
    expect(within(panel).getByTestId("run-cancel")).toBeInTheDocument();
  });
});
