import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { RunDetail } from "../../api/client";
import { jsonResponse, mockApi, renderWithRouter, requestsTo } from "../../test/helpers";
import { RunPage } from "./RunPage";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
    id: 5, project_id: 3, name: "nightly", status, recipe: {}, prompt_set_id: 1, teacher_id: 1, summary, cost_usd: 2, cost_per_accepted_usd: 0.02,
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

const CARD = [
  "---",
  "license: other",
  "configs:",
  "- config_name: messages",
  "  data_files: messages.parquet",
  "---",
  "",
  "# Dataset card",
  "",
  "Made from $n$ traces.",
  "",
  "```yaml",
  `path: /data/${"very-long-segment/".repeat(20)}final`,
  "```",
].join("\n");

function routes(role: string, run: () => RunDetail) {
  return {
    "GET /api/projects/3": () => jsonResponse(project(role)),
    "GET /api/projects/3/runs/5": () => jsonResponse(run()),
    "GET /api/projects/3/runs/5/evaluations": () => jsonResponse(evaluations),
    "GET /api/projects/3/snapshots/8": () =>
      jsonResponse({ id: 8, project_id: 3, run_id: 5, name: "snap", content_hash: "abcdef0123456789", row_counts: { messages: 100 }, files: { "messages.parquet": {}, "README.md": {}, "teacher_logprobs.parquet": {} },
        teacher_logprobs: { k: 20, tokenizer_hash: "0123456789abcdef", template_hash: "", teacher: "tiny-teacher", source: "rollout", rows: 100 }, created_at: T0 }),
    "GET /api/projects/3/snapshots/8/card": () => new Response(CARD, { headers: { "Content-Type": "text/markdown" } }),
    "GET /api/projects/3/models/4/card": () =>
      new Response("---\nbase_model: tiny-student\ntags:\n- distillery\n---\n\n# nightly: sft of tiny-student\n\n- resumed from: not resumed (one go)\n- evaluation 2 (run 5): pass@1 55.0%\n", {
        headers: { "Content-Type": "text/markdown" },
      }),
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
    // a viewer gets no download button (the files answer maintainers only), and is told why
    expect(await screen.findByTestId("snapshot-files-role")).toHaveTextContent("Files download for maintainers; you are a viewer here.");
    expect(screen.queryAllByTestId("snapshot-file")).toHaveLength(0);
    await userEvent.click(screen.getByTestId("snapshot-card-button"));
    const card = await screen.findByTestId("snapshot-card");
    expect(card).toHaveTextContent("Dataset card");
    expect(card.querySelector(".katex")).not.toBeNull();
    // the Hub's YAML header is shown as YAML, not read as Markdown bullets and rules
    const header = within(card).getByTestId("card-front-matter");
    expect(header.textContent).toBe("license: other\nconfigs:\n- config_name: messages\n  data_files: messages.parquet");
    expect(card.querySelector("li")).toBeNull();
    expect(card.querySelector("hr")).toBeNull();
    expect(card.querySelector("h1")).toHaveTextContent("Dataset card");
  });

  it("shows the model card the API renders now: its header as YAML, its evaluations", async () => {
    const fetchMock = mockApi(routes("viewer", full));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    await userEvent.click(await screen.findByTestId("model-card-button"));
    const card = await screen.findByTestId("model-card");
    expect(within(card).getByTestId("card-front-matter").textContent).toBe("base_model: tiny-student\ntags:\n- distillery");
    expect(card).toHaveTextContent("resumed from: not resumed (one go)");
    expect(card).toHaveTextContent("evaluation 2 (run 5): pass@1 55.0%");
    // asked again on each click: an evaluation since then is in the next card
    await userEvent.click(screen.getByTestId("model-card-button"));
    await waitFor(() => expect(requestsTo(fetchMock, "/api/projects/3/models/4/card")).toHaveLength(2));
  });

  it("shows a maintainer the snapshot's download buttons", async () => {
    mockApi(routes("maintainer", full));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const files = await screen.findAllByTestId("snapshot-file");
    expect(files.map((f) => f.textContent)).toEqual(["⬇ messages.parquet", "⬇ README.md", "⬇ teacher_logprobs.parquet"]);
    expect(screen.queryByTestId("snapshot-files-role")).toBeNull();
    // the teacher logprob cache is said on the snapshot: K, rows, teacher, the tokenizer hash's prefix, source
    expect(screen.getByTestId("snapshot-logprobs")).toHaveTextContent(
      "Teacher logprobs: top-20 per token for 100 rows · tiny-teacher · tokenizer 0123456789ab · from the rollout",
    );
  });

  it("keeps long paths and card code inside the artifact cards", () => {
    // jsdom has no layout: the rules that keep a grid item from growing to its widest line are checked
    const runCss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "run.css"), "utf8");
    const rule = (sel: string) =>
      runCss
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .split("}")
        .filter((r) => r.split("{")[0].split(",").map((x) => x.trim()).includes(sel))
        .join(" ");
    expect(rule(".artifacts")).toMatch(/grid-template-columns:\s*minmax\(0,\s*1fr\)/);
    expect(rule(".artifact")).toMatch(/min-width:\s*0/);
    expect(rule(".artifact")).toMatch(/overflow-wrap:\s*anywhere/);
    expect(rule(".card-markdown pre")).toMatch(/overflow-x:\s*auto/);
    expect(rule(".snapshot-card")).toMatch(/overflow:\s*auto/);
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

  it("edits a failed stage's settings, prefilled from the recipe, and resumes the run from it", async () => {
    const trainSettings = { method: "sft", student: "tiny", snapshot_id: 8, max_steps: 4, override_checks: [], too_long: "exclude" };
    const failed = () => ({
      ...detail("failed", [stage(10, 0, "profile", "succeeded"), stage(11, 1, "train", "failed", { error: "pre-flight checks failed: truncated_traces: 1 of 4" })]),
      recipe: { prompt_set_id: 1, stages: ["profile", "train"], train: trainSettings },
    });
    let calls = 0;
    const fetchMock = mockApi({
      ...routes("maintainer", failed),
      "GET /api/projects/3/stage-kinds": () => jsonResponse([trainKind]),
      "POST /api/projects/3/runs/5/stages/11/resume": () =>
        ++calls === 1
          ? jsonResponse(
              { error: { code: "validation_error", message: "train settings are invalid: body.settings.max_steps: must be at least 1", fields: [{ path: "body.settings.max_steps", message: "must be at least 1", type: "greater_than_equal" }] } },
              422,
            )
          : jsonResponse({ ...failed(), status: "pending", stages: [stage(10, 0, "profile", "succeeded"), stage(11, 1, "train", "queued")] }, 202),
    });
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    // only the failed stage offers it
    expect(screen.queryByTestId("stage-edit-profile")).not.toBeInTheDocument();
    await userEvent.click(await screen.findByTestId("stage-edit-train"));
    const form = await screen.findByTestId("stage-resume");
    expect(await within(form).findByTestId("field-settings.max_steps")).toHaveValue(4);
    expect(within(form).getByTestId("field-settings.student")).toHaveValue("tiny");
    expect(within(form).queryByTestId("field-settings.override_checks-too_long")).not.toBeInTheDocument();
    await userEvent.click(within(form).getByTestId("field-settings.override_checks-truncated_traces"));
    await userEvent.click(within(form).getByTestId("stage-resume-submit"));
    expect(await within(form).findByTestId("error-settings.max_steps")).toHaveTextContent("must be at least 1");
    await userEvent.click(within(form).getByTestId("stage-resume-submit"));
    await waitFor(() => expect(screen.queryByTestId("stage-resume")).not.toBeInTheDocument());
    const posts = requestsTo(fetchMock, "/api/projects/3/runs/5/stages/11/resume");
    expect(await posts[1].clone().json()).toEqual({ settings: { ...trainSettings, override_checks: ["truncated_traces"] } });
    const stages = await screen.findAllByTestId("stage");
    expect(stages.map((st) => st.getAttribute("data-stage-status"))).toEqual(["succeeded", "queued"]);
  });

  it("offers no edit to a viewer, nor on a running run", async () => {
    const viewer = mockApi(routes("viewer", () => detail("failed", [stage(11, 0, "train", "failed")])));
    const page = renderWithRouter(<RunPage projectId={3} runId={5} />);
    await screen.findAllByTestId("stage");
    await waitFor(() => expect(requestsTo(viewer, "/api/projects/3").length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 20)); // the role's answer is rendered
    expect(screen.queryByTestId("stage-edit-train")).not.toBeInTheDocument();
    page.unmount();
    mockApi(routes("maintainer", () => detail("running", [stage(10, 0, "profile", "failed"), stage(11, 1, "train", "running")])));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    await screen.findByTestId("run-cancel"); // the maintainer's role has arrived
    expect(screen.queryByTestId("stage-edit-profile")).not.toBeInTheDocument();
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

/** The train kind as GET .../stage-kinds gives it, cut to the fields the resume test reads (the union of one
 * model per method, told apart by method). */
const nullableInt = { anyOf: [{ type: "integer", minimum: 1 }, { type: "null" }], default: null };
const trainKind = {
  name: "train", queue: "gpu", help: "", requires: [], needs_teacher: false,
  settings_schema: {
    oneOf: [{ $ref: "#/$defs/SFTSettings" }],
    discriminator: { propertyName: "method", mapping: { sft: "#/$defs/SFTSettings" } },
    $defs: {
      SFTSettings: {
        properties: {
          method: { const: "sft", type: "string", default: "sft" },
          student: { type: "string", default: "Qwen/Qwen2.5-0.5B-Instruct" },
          snapshot_id: nullableInt,
          max_steps: nullableInt,
          too_long: { type: "string", enum: ["exclude", "refuse"], default: "exclude" },
          override_checks: { type: "array", default: [], items: { type: "string", enum: ["pad_token", "assistant_mask", "eos_trained", "reasoning_kept", "truncated_traces"] } },
        },
      },
    },
  },
};

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

describe("profile", () => {
  it("says the profile counts the split the rollout covers", async () => {
    const lengths = { min: 1, max: 9, mean: 4, percentiles: { p50: 4 } };
    const profile = { prompt_count: 1200, split: "train", chars: lengths, words: lengths };
    mockApi(routes("viewer", () => detail("succeeded", [stage(9, 0, "profile", "succeeded")], { profile })));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("profile-prompt-count")).toHaveTextContent("1,200");
    expect(screen.getByTestId("profile-split")).toHaveTextContent("in the train split (what the rollout covers)");
  });

  it("says a profile without a rollout counted the whole set", async () => {
    const lengths = { min: 1, max: 9, mean: 4, percentiles: {} };
    const profile = { prompt_count: 1500, split: "all", chars: lengths, words: lengths };
    mockApi(routes("viewer", () => detail("succeeded", [stage(9, 0, "profile", "succeeded")], { profile })));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("profile-split")).toHaveTextContent("in the whole set");
  });
});

describe("cost", () => {
  it("shows the API's cost per accepted trace (rollout and judge: the card's figure), not one of its own", async () => {
    // the filter's own figure (0.015, the rollout's alone) is not the one shown
    mockApi(routes("viewer", () => ({ ...full(), cost_usd: 2, cost_per_accepted_usd: 0.02 })));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("kpi-cost")).toHaveTextContent("$2");
    expect(screen.getByTestId("kpi-cost-per-accepted")).toHaveTextContent("$0.02");
  });

  it("shows no figure before anything was accepted", async () => {
    mockApi(routes("viewer", () => ({ ...full(), cost_usd: 2, cost_per_accepted_usd: null })));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    expect(await screen.findByTestId("kpi-cost-per-accepted")).toHaveTextContent("—");
  });
});
