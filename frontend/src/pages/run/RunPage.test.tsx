import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { RunDetail } from "../../api/client";
import { jsonResponse, mockApi, renderWithRouter, requestsTo } from "../../test/helpers";
import { costPerAccepted, costSoFar } from "./RunMetrics";
import { RunPage } from "./RunPage";

const project = (role: string) => ({ id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role });
const T0 = "2026-12-01T10:00:00Z";

function stage(id: number, position: number, kind: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    id, run_id: 5, position, kind, status, progress_done: 0, progress_total: null, metrics: null, error: null,
    created_at: T0, started_at: status === "queued" ? null : T0, finished_at: status === "succeeded" ? "2026-12-01T10:02:05Z" : null,
    ...extra,
  };
}

const counts = (passed: number, wrong: number, timeout = 0) => ({ passed, wrong, unparseable: 0, timeout, error: 0, reference_unparseable: 0 });

function detail(status: string, stages: unknown[], summary: Record<string, unknown> = {}): RunDetail {
  return {
    id: 5, project_id: 3, name: "nightly", status, recipe: {}, prompt_set_id: 1, teacher_id: 1, summary,
    warnings: [], error: null, created_at: T0, started_at: T0, finished_at: status === "succeeded" ? "2026-12-01T10:30:00Z" : null,
    stages,
  } as unknown as RunDetail;
}

const rollout = {
  generations: 400, succeeded: 398, failed: 2, truncated: 5, from_cache: 0, failures: {}, prompt_tokens: 1000,
  completion_tokens: 90000, tokens_per_s: 1234.5, completions_per_s: 3, cost_usd: 1.5, gpu_seconds: 0, elapsed_s: 60,
  chunks: {}, attempts_skipped: 0, cost_saved_usd: 0, partly_failed: null,
};
const filter = {
  verified: 398, accepted: 100, rejected: 290, undecided: 8, acceptance_rate: 0.2513, prompts: 100, prompts_solved: 60,
  pass_rate_histogram: {}, cost_usd: 1.5, cost_per_accepted_usd: 0.015, gpu_seconds_per_accepted: null, verified_per_s: 50,
  elapsed_s: 8, chunks: {}, by_verifier: { math: counts(100, 290, 8), format: counts(390, 8) },
};
const judge = {
  judged: 398, accepted: 90, rejected: 200, unsure: 100, unparseable: 8, errors: 0, cached: 0, prompt_tokens: 0,
  completion_tokens: 0, cost_usd: 0.5, rubric_version: 2, thresholds: { accept: 7, reject: 4, source: "calibrated", labels: 50 },
  elapsed_s: 3, chunks: {},
};
const train = {
  method: "sft", step: 3, max_steps: 10, epoch: 0.3, loss: 1.1, learning_rate: 1e-5, grad_norm: 1, tokens_per_s: 900,
  series: [
    { step: 1, loss: 2.0, learning_rate: 1e-5 },
    { step: 2, loss: 1.5, learning_rate: 2e-5 },
    { step: 3, loss: 1.1, learning_rate: 1.5e-5 },
  ],
  checks: [], overrides: [], warnings: [], examples: 100, excluded_too_long: 0, max_length: 512, resumed_from_step: null,
  optimizer_steps: 10, snapshot_id: 8, artifact_id: 4, path: "/data/m", launch: null,
};
const evaluations = [
  { id: 3, run_id: 5, stage_id: 20, artifact_id: null, label: "teacher", role: "teacher", model: "T", prompt_set_id: 1, config_hash: "h",
    metrics: { label: "teacher", role: "teacher", model: "T", evaluation_id: 3, params: null, samples: 4, pass_at_1: 0.8, pass_at_1_ci: [0.7, 0.9], pass_at_k: 0.9, maj_at_k: 0.85, mean_output_tokens: 300, truncation_rate: 0, config_hash: "h" } },
  { id: 1, run_id: 5, stage_id: 20, artifact_id: null, label: "base", role: "base", model: "B", prompt_set_id: 1, config_hash: "h",
    metrics: { label: "base", role: "base", model: "B", evaluation_id: 1, params: null, samples: 4, pass_at_1: 0.2, pass_at_1_ci: [0.12, 0.28], pass_at_k: 0.4, maj_at_k: 0.25, mean_output_tokens: 200, truncation_rate: 0.05, config_hash: "h" } },
  { id: 2, run_id: 5, stage_id: 20, artifact_id: 4, label: "student", role: "student", model: "S", prompt_set_id: 1, config_hash: "h",
    metrics: { label: "student", role: "student", model: "S", evaluation_id: 2, params: null, samples: 4, pass_at_1: 0.55, pass_at_1_ci: [0.45, 0.65], pass_at_k: 0.7, maj_at_k: 0.6, mean_output_tokens: 250, truncation_rate: 0.01, config_hash: "h" } },
];

function routes(role: string, run: () => RunDetail) {
  return {
    "GET /api/projects/3": () => jsonResponse(project(role)),
    "GET /api/projects/3/runs/5": () => jsonResponse(run()),
    "GET /api/projects/3/runs/5/evaluations": () => jsonResponse(evaluations),
    "GET /api/projects/3/snapshots/8": () =>
      jsonResponse({ id: 8, project_id: 3, run_id: 5, name: "snap", content_hash: "abcdef0123456789", row_counts: { messages: 100 }, files: { "messages.parquet": {}, "README.md": {} }, created_at: T0 }),
    "GET /api/projects/3/snapshots/8/card": () => new Response("# Dataset card\n\nMade from $n$ traces.", { headers: { "Content-Type": "text/markdown" } }),
    "GET /api/projects/3/models/4": () =>
      jsonResponse({ id: 4, project_id: 3, run_id: 5, snapshot_id: 8, base_model: "tiny-student", method: "sft", path: "/data/training/final", metrics: {}, created_at: T0 }),
  };
}

const full = () =>
  detail(
    "succeeded",
    [
      stage(14, 4, "evaluate", "succeeded", { progress_done: 3, progress_total: 3 }),
      stage(10, 0, "rollout", "succeeded", { progress_done: 400, progress_total: 400 }),
      stage(11, 1, "filter", "succeeded", { progress_done: 398, progress_total: 398 }),
      stage(12, 2, "snapshot", "succeeded", { progress_done: 1, progress_total: 1 }),
      stage(13, 3, "train", "succeeded", { progress_done: 10, progress_total: 10 }),
    ],
    { rollout, filter, judge, train, snapshot: { snapshot_id: 8, content_hash: "abc", counts: {}, files: {}, reused: false }, evaluate: { prompts: 50, k: 4, models: evaluations.map((e) => e.metrics), comparison: { param_ratio: 10, gap_to_teacher: -0.25, gain_over_base: 0.35 } } },
  );

describe("RunPage", () => {
  it("draws the stages as a timeline in order, with progress, elapsed time and errors", async () => {
    mockApi(routes("viewer", () =>
      detail("failed", [
        stage(11, 1, "filter", "failed", { progress_done: 10, progress_total: 40, error: "verifier crashed: boom" }),
        stage(10, 0, "rollout", "succeeded", { progress_done: 40, progress_total: 40, workers_lost: 2 }),
        stage(12, 2, "snapshot", "queued"),
      ]),
    ));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const timeline = await screen.findByTestId("timeline");
    const stages = within(timeline).getAllByTestId("stage");
    expect(stages.map((s) => s.getAttribute("data-stage-kind"))).toEqual(["rollout", "filter", "snapshot"]);
    expect(within(stages[0]).getByTestId("progress-text")).toHaveTextContent("40 / 40 (100%)");
    expect(within(stages[0]).getByTestId("stage-elapsed")).toHaveTextContent("2m 05s");
    expect(within(stages[1]).getByTestId("progress-text")).toHaveTextContent("10 / 40 (25%)");
    expect(within(stages[1]).getByTestId("stage-error")).toHaveTextContent("verifier crashed: boom");
    expect(within(stages[2]).getByTestId("stage-elapsed")).toHaveTextContent("waiting");
    expect(within(stages[0]).getByTestId("stage-workers-lost")).toHaveTextContent("worker was lost (2×)");
    expect(within(stages[2]).queryByTestId("stage-workers-lost")).toBeNull();
    // a viewer sees no cancel / re-queue
    expect(screen.queryByTestId("run-requeue")).toBeNull();
    expect(screen.queryByTestId("run-cancel")).toBeNull();
  });

  it("shows throughput, cost, acceptance per verifier, curves, the evaluation and the artifacts", async () => {
    mockApi(routes("viewer", full));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("kpi-tokens-per-s")).toHaveTextContent("1,234.5");
    expect(screen.getByTestId("kpi-cost")).toHaveTextContent("$2");
    expect(screen.getByTestId("kpi-cost-per-accepted")).toHaveTextContent("$0.02");
    expect(screen.getByTestId("kpi-accepted")).toHaveTextContent("100 (25.13%)");
    const verifiers = screen.getAllByTestId("verifier-row");
    expect(verifiers.map((r) => r.getAttribute("data-verifier"))).toEqual(["math", "format"]);
    expect(verifiers[0]).toHaveTextContent("25.13%"); // 100 of 398, the 8 undecided counted
    expect(verifiers[1]).toHaveTextContent("97.99%");
    expect(screen.getByTestId("judge-tally")).toHaveTextContent("90 accepted · 200 rejected · 100 unsure");

    expect(screen.getByTestId("loss-chart")).toHaveAttribute("data-points", "3");
    expect(screen.getByTestId("lr-chart")).toHaveAttribute("data-points", "3");

    const rows = await screen.findAllByTestId("eval-row");
    expect(rows.map((r) => r.getAttribute("data-role"))).toEqual(["base", "student", "teacher"]);
    expect(rows[1]).toHaveTextContent("55%");
    expect(rows[1]).toHaveTextContent("45% – 65%");
    expect(within(screen.getByTestId("eval-chart")).getAllByTestId("eval-bar")).toHaveLength(3);
    expect(screen.getByTestId("eval-comparison")).toHaveTextContent("gain over base35 points");

    expect(await screen.findByTestId("model-path")).toHaveTextContent("/data/training/final");
    expect(screen.getByTestId("model-ref")).toHaveTextContent("artifact:4"); // how recipes name it
    const files = await screen.findAllByTestId("snapshot-file");
    expect(files.map((f) => f.textContent)).toEqual(["⬇ messages.parquet", "⬇ README.md"]);
    await userEvent.click(screen.getByTestId("snapshot-card-button"));
    const card = await screen.findByTestId("snapshot-card");
    expect(card).toHaveTextContent("Dataset card");
    expect(card.querySelector(".katex")).not.toBeNull();
  });

  it("polls while the run is live and stops once it has finished", async () => {
    let calls = 0;
    const fetchMock = mockApi(routes("maintainer", () => {
      calls += 1;
      return calls < 2
        ? detail("running", [stage(10, 0, "rollout", "running", { progress_done: 100, progress_total: 400 })])
        : detail("succeeded", [stage(10, 0, "rollout", "succeeded", { progress_done: 400, progress_total: 400 })]);
    }));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("live")).toBeInTheDocument();
    expect(await screen.findByTestId("run-cancel")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("run-detail")).toHaveAttribute("data-run-status", "succeeded"), { timeout: 5000 });
    expect(screen.getByTestId("progress-text")).toHaveTextContent("400 / 400 (100%)");
    expect(screen.queryByTestId("live")).toBeNull();
    expect(screen.queryByTestId("run-cancel")).toBeNull();
    const n = requestsTo(fetchMock, "/api/projects/3/runs/5").length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(requestsTo(fetchMock, "/api/projects/3/runs/5").length).toBe(n);
  }, 10000);

  it("lets a maintainer re-queue a failed run and shows the API's error", async () => {
    mockApi({
      ...routes("maintainer", () => detail("failed", [stage(10, 0, "rollout", "failed")])),
      "POST /api/projects/3/runs/5/requeue": () => jsonResponse({ error: { code: "conflict", message: "the run is not stalled" } }, 409),
    });
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    await userEvent.click(await screen.findByTestId("run-requeue"));
    expect(await screen.findByTestId("run-action-error")).toHaveTextContent("the run is not stalled");
  });

  it("while the evaluate stage has no summary yet, shows the run's evaluations as they land", async () => {
    const fetchMock = mockApi(routes("viewer", () =>
      detail("running", [stage(14, 0, "evaluate", "running", { progress_done: 1, progress_total: 3 })]),
    ));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const rows = await screen.findAllByTestId("eval-row");
    expect(rows.map((r) => r.getAttribute("data-role"))).toEqual(["base", "student", "teacher"]);
    expect(requestsTo(fetchMock, "/api/projects/3/runs/5/evaluations").length).toBeGreaterThan(0);
  });

  it("shows the run's load error", async () => {
    mockApi({ "GET /api/projects/3": () => jsonResponse(project("viewer")), "GET /api/projects/3/runs/5": () => jsonResponse({ error: { code: "not_found", message: "run not found" } }, 404) });
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("run-error")).toHaveTextContent("run not found");
  });
});

describe("snapshot downloads", () => {
  it("asks before downloading under a teacher's restrictive terms, and shows a refusal's message", async () => {
    const urls: string[] = [];
    mockApi({
      ...routes("maintainer", full),
      "GET /api/projects/3/snapshots/8/files/messages.parquet": (req) => {
        urls.push(req.url);
        return new URL(req.url).searchParams.get("acknowledge_terms") === "true"
          ? new Response("PAR1", { headers: { "Content-Type": "application/vnd.apache.parquet" } })
          : jsonResponse({ error: { code: "terms_not_acknowledged", message: "this run's teacher has terms that restrict training" } }, 403);
      },
      "GET /api/projects/3/snapshots/8/files/README.md": () => jsonResponse({ error: { code: "forbidden", message: "needs the maintainer role" } }, 403),
    });
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);
    const createUrl = vi.fn(() => "blob:x");
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: createUrl, revokeObjectURL: vi.fn() }));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const files = await screen.findAllByTestId("snapshot-file");
    await userEvent.click(files[0]);
    await waitFor(() => expect(createUrl).toHaveBeenCalledTimes(1));
    expect(confirm).toHaveBeenCalledWith(expect.stringContaining("restrict training"));
    expect(urls.map((u) => new URL(u).search)).toEqual(["", "?acknowledge_terms=true"]);
    await userEvent.click(files[1]);
    expect(await screen.findByRole("alert")).toHaveTextContent("needs the maintainer role");
  });
});

describe("cost", () => {
  it("adds the judge's cost to the rollout's and divides by the accepted attempts", () => {
    const s = full().summary;
    expect(costSoFar(s)).toBe(2);
    expect(costPerAccepted(s)).toBe(0.02);
    expect(costPerAccepted({ rollout: s.rollout } as typeof s)).toBeNull();
  });
});
