import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RunDetail } from "../../api/client";
import { jsonResponse, mockApi, requestsTo, renderWithRouter } from "../../test/helpers";
import { RunPage } from "./RunPage";

// evaluate.checkpoints on the run page: held-out accuracy per checkpoint drawn beside the training loss.
const T0 = "2026-12-01T10:00:00Z";
const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "viewer" };
const CURVE = "/api/projects/3/runs/5/evaluations/checkpoints";

function stage(id: number, position: number, kind: string, status: string, metrics: unknown) {
  return {
    id, run_id: 5, position, kind, status, progress_done: 1, progress_total: 3, metrics, error: null, created_at: T0, started_at: T0,
    finished_at: status === "succeeded" ? T0 : null, heartbeat_at: T0, workers_lost: 0,
  };
}

const series = [1, 2, 3, 4, 5, 6].map((step) => ({
  step, loss: 3 - step * 0.3, learning_rate: 1e-4, grad_norm: 1, reward: null, reward_std: null, zero_reward_groups: null,
  reward_margin: null, reward_accuracy: null, ce: null, kl: null,
}));
const train = {
  method: "sft", step: 6, max_steps: 6, epoch: 1, loss: 1.2, learning_rate: 1e-4, grad_norm: 1, tokens_per_s: 100, series, warnings: [],
  checks: [], overrides: [], examples: 8, excluded_too_long: 0, max_length: 64, resumed_from_step: null, optimizer_steps: 6, snapshot_id: 8,
  eval_checkpoints: [2, 4, 6].map((step) => ({ step, path: `/data/step-${step}` })), artifact_id: 1, path: "/data/final", launch: null,
  template: null, pad: null, sample: null,
};
const point = (step: number, acc: number, ci: [number, number], id: number) => ({
  step, evaluation_id: id, pass_at_1: acc, pass_at_1_ci: ci, pass_at_k: acc, maj_at_k: acc, samples: 8, loss: 3 - step * 0.3,
});
// rises to step 4, then falls below its own interval: over-training
const points = [point(2, 0.25, [0.1, 0.4], 21), point(4, 0.75, [0.6, 0.9], 22), point(6, 0.375, [0.2, 0.5], 23)];

function detail(status: string, evaluate: string, summary: Record<string, unknown>): RunDetail {
  return {
    id: 5, project_id: 3, name: "ckpt", status, prompt_set_id: 1, teacher_id: null, summary, warnings: [], error: null,
    recipe: { stages: ["train", "evaluate"], evaluate: { checkpoints: { every: 2 } } },
    created_at: T0, started_at: T0, finished_at: null,
    stages: [stage(13, 0, "train", "succeeded", train), stage(14, 1, "evaluate", evaluate, null)],
  } as unknown as RunDetail;
}

describe("accuracy per checkpoint on the run page", () => {
  it("draws one point per evaluated checkpoint next to the loss and says where accuracy peaked", async () => {
    const evaluate = { prompts: 4, k: 2, models: [], comparison: { param_ratio: null, gap_to_teacher: null, gain_over_base: null }, checkpoints: points };
    const fetchMock = mockApi({
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs/5": () => jsonResponse(detail("succeeded", "succeeded", { train, evaluate })),
    });
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const chart = await screen.findByTestId("checkpoint-accuracy-chart");
    expect(chart).toHaveAttribute("data-points", "3");
    expect(chart).toHaveTextContent("Held-out accuracy per checkpoint");
    // beside the training loss: the next chart in the row
    expect(screen.getByTestId("loss-chart").nextElementSibling).toBe(chart);
    expect(screen.getByTestId("checkpoint-verdict")).toHaveTextContent(
      "Best at step 4 (75%); the last checkpoint (step 6) scores 37.5%, below it beyond its interval: over-training?",
    );
    // the finished run's summary holds the points: the curve is not asked for separately
    expect(requestsTo(fetchMock, CURVE)).toHaveLength(0);
  });

  it("fills in from the API while the evaluate stage scores the checkpoints", async () => {
    let calls = 0;
    const fetchMock = mockApi({
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs/5": () => jsonResponse(detail("running", "running", { train })),
      "GET /api/projects/3/runs/5/evaluations": () => jsonResponse([]),
      [`GET ${CURVE}`]: () => {
        calls += 1;
        return jsonResponse(calls < 2 ? [] : points.slice(0, 2));
      },
    });
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const chart = await screen.findByTestId("checkpoint-accuracy-chart");
    expect(chart).toHaveAttribute("data-points", "0");
    expect(chart).toHaveTextContent("No checkpoint evaluated yet");
    await waitFor(() => expect(screen.getByTestId("checkpoint-accuracy-chart")).toHaveAttribute("data-points", "2"), { timeout: 5000 });
    expect(screen.getByTestId("checkpoint-verdict")).toHaveTextContent("Best at the last checkpoint (step 4, 75%): more steps may still pay.");
    expect(requestsTo(fetchMock, CURVE).length).toBeGreaterThanOrEqual(2);
  }, 10000);

  it("leaves the chart out when the recipe asks for no checkpoint", async () => {
    const run = detail("succeeded", "succeeded", { train });
    (run as unknown as { recipe: unknown }).recipe = { stages: ["train", "evaluate"], evaluate: {} };
    mockApi({ "GET /api/projects/3": () => jsonResponse(project), "GET /api/projects/3/runs/5": () => jsonResponse(run), "GET /api/projects/3/runs/5/evaluations": () => jsonResponse([]) });
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    await screen.findByTestId("loss-chart");
    expect(screen.queryByTestId("checkpoint-accuracy-chart")).toBeNull();
  });
});
