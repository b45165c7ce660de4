import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RunDetail } from "../../api/client";
import { jsonResponse, mockApi, renderWithRouter } from "../../test/helpers";
import { RunPage } from "./RunPage";

const T0 = "2026-12-01T10:00:00Z";
const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "viewer" };

function trainStage(status: string, metrics: unknown) {
  return {
    id: 13, run_id: 5, position: 0, kind: "train", status, progress_done: 2, progress_total: 40, metrics, error: null,
    created_at: T0, started_at: T0, finished_at: status === "succeeded" ? "2026-12-01T10:02:05Z" : null, heartbeat_at: T0, workers_lost: 0,
  };
}

function detail(status: string, stages: unknown[], summary: Record<string, unknown> = {}): RunDetail {
  return {
    id: 5, project_id: 3, name: "nightly", status, recipe: {}, prompt_set_id: 1, teacher_id: 1, summary, warnings: [], error: null,
    created_at: T0, started_at: T0, finished_at: null, stages,
  } as unknown as RunDetail;
}

const point = (step: number, extra: Record<string, number | null> = {}) => ({
  step, loss: 3 - step * 0.1, learning_rate: 1e-5 * step, grad_norm: 2 / step, reward: null, reward_std: null,
  zero_reward_groups: null, reward_margin: null, reward_accuracy: null, ce: null, kl: null, ...extra,
});

const tooLong = {
  name: "too_long", help: "No example is longer than max_length.", passed: true, overridden: false, count: 77, total: 131,
  examples: ["row 10003: 5120 tokens", "row 10009: 4410 tokens"], fix: "77 example(s) over 4096 tokens excluded",
};
const clean = (name: string) => ({ name, help: `${name} help`, passed: true, overridden: false, count: 0, total: 131, examples: [], fix: null });

function metrics(method: string, series: unknown[], extra: Record<string, unknown> = {}) {
  return {
    method, step: series.length, max_steps: 40, epoch: 0.1, loss: 2.8, learning_rate: 1e-5, grad_norm: 1, tokens_per_s: 500, series,
    warnings: [], checks: [clean("pad_token"), clean("eos_trained"), tooLong], overrides: [], examples: 54, excluded_too_long: 77,
    max_length: 4096, resumed_from_step: null, optimizer_steps: null, snapshot_id: 8, artifact_id: null, path: null, launch: null,
    template: null, pad: null, sample: null, ...extra,
  };
}

function routes(run: () => RunDetail) {
  return {
    "GET /api/projects/3": () => jsonResponse(project),
    "GET /api/projects/3/runs/5": () => jsonResponse(run()),
    "GET /api/projects/3/snapshots/8": () => jsonResponse({ error: { code: "not_found", message: "gone" } }, 404),
  };
}

describe("training on the run page", () => {
  it("draws loss, learning rate and grad norm from the running stage and grows them as it polls", async () => {
    let calls = 0;
    mockApi(routes(() => {
      calls += 1;
      const steps = calls < 2 ? 2 : 5;
      return detail("running", [trainStage("running", metrics("sft", Array.from({ length: steps }, (_, i) => point(i + 1))))]);
    }));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const loss = await screen.findByTestId("loss-chart");
    expect(loss).toHaveAttribute("data-points", "2");
    expect(loss).toHaveAttribute("data-live", "true");
    expect(screen.getByTestId("training-live")).toBeInTheDocument();
    expect(screen.getByTestId("grad-norm-chart")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("lr-chart")).toHaveAttribute("data-points", "2");
    // no reload: the next poll's points are drawn on the same page
    await waitFor(() => expect(screen.getByTestId("loss-chart")).toHaveAttribute("data-points", "5"), { timeout: 5000 });
    expect(screen.getByTestId("grad-norm-chart")).toHaveAttribute("data-points", "5");
    // SFT has no reward signals and no warning
    expect(screen.queryByTestId("reward-chart")).toBeNull();
    expect(screen.queryByTestId("reward-margin-chart")).toBeNull();
    expect(screen.queryByTestId("train-warnings")).toBeNull();
  }, 10000);

  it("shows the pre-flight report up front while training runs: what was left out, how many, which", async () => {
    mockApi(routes(() => detail("running", [trainStage("running", metrics("sft", []))])));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const leftOut = await screen.findByTestId("train-left-out");
    expect(leftOut).toHaveTextContent("77 of 131 examples too long, left out (over max_length 4,096 tokens)");
    const report = screen.getByTestId("preflight");
    const flagged = within(report).getAllByTestId("preflight-flagged");
    expect(flagged.map((f) => [f.getAttribute("data-check"), f.getAttribute("data-outcome")])).toEqual([["too_long", "left-out"]]);
    expect(flagged[0]).toHaveTextContent("too_long: 77 of 131 examples left out — 77 example(s) over 4096 tokens excluded");
    expect(within(flagged[0]).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["row 10003: 5120 tokens", "row 10009: 4410 tokens"]);
    expect(within(report).getByTestId("preflight-clean")).toHaveTextContent("passed on every example: pad_token, eos_trained");
    // before the first logged step the charts say they wait for it
    expect(screen.getByTestId("loss-chart")).toHaveAttribute("data-points", "0");
    expect(screen.getByTestId("loss-chart")).toHaveTextContent("Waiting for the first logged step");
  });

  it("warns that GRPO learns nothing when every reward is 0, beside its reward curves", async () => {
    const warning = "every reward so far is 0: the verifiers passed no sampled completion, so GRPO has nothing to learn from";
    const series = [1, 2, 3].map((s) => point(s, { reward: 0, reward_std: 0, zero_reward_groups: 1 }));
    mockApi(routes(() => detail("running", [trainStage("running", metrics("grpo", series, { warnings: [warning] }))])));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("train-warnings")).toHaveTextContent(warning);
    expect(screen.getByTestId("train-warnings")).toHaveAttribute("role", "alert");
    expect(screen.getByTestId("reward-chart")).toHaveAttribute("data-points", "3");
    expect(screen.getByTestId("zero-reward-chart")).toHaveAttribute("data-points", "3");
  });

  it("draws kd's cross-entropy and KL to the teacher beside its loss", async () => {
    const series = [1, 2, 3].map((s) => point(s, { ce: 2 / s, kl: 0.5 / s }));
    mockApi(routes(() => detail("running", [trainStage("running", metrics("kd", series))])));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("kd-parts-chart")).toHaveAttribute("data-points", "3");
    expect(screen.queryByTestId("reward-chart")).toBeNull();
  });

  it("draws DPO's reward margin and accuracy beside its loss, from the summary once it ended", async () => {
    const series = [1, 2].map((s) => point(s, { reward_margin: 0.1 * s, reward_accuracy: 0.5 }));
    const done = metrics("dpo", series, { checks: [clean("pad_token")], excluded_too_long: 0 });
    mockApi(routes(() => detail("succeeded", [trainStage("succeeded", done)], { train: done })));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("reward-margin-chart")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("reward-accuracy-chart")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("loss-chart")).toHaveAttribute("data-live", "false");
    expect(screen.queryByTestId("training-live")).toBeNull();
    expect(screen.queryByTestId("train-left-out")).toBeNull();
    expect(screen.queryByTestId("preflight-flagged")).toBeNull();
  });
});
