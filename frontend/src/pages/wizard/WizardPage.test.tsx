import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { STAGE_KINDS } from "../../test/stageKinds";
import { buildRecipe, defaultState, demoState } from "./recipe";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "maintainer" };
const set = (over: Record<string, unknown>) => ({
  id: 7, project_id: 3, name: "gsm8k", version: 2, parent_id: null, source: "x", status: "ready", frozen: false, prompt_count: 120,
  stats: {}, created_at: "2026-01-01T00:00:00", with_tests: 0, with_reference: 120, ...over,
});
const sets = [
  set({}),
  set({ id: 8, name: "humaneval", version: 1, prompt_count: 164, with_tests: 164, with_reference: 0 }),
  set({ id: 10, name: "mixed", version: 1, prompt_count: 50, with_tests: 50, with_reference: 50 }),
  set({ id: 11, name: "chat", version: 1, prompt_count: 30, with_tests: 0, with_reference: 0 }),
  set({ id: 12, name: "old", version: 1, prompt_count: 30, with_tests: null, with_reference: null }),
];
const teacher = (over: Record<string, unknown> = {}) => ({
  id: 9, project_id: 3, name: "tiny", backend: "transformers_local", model: "tiny", base_url: null, has_api_key: false,
  licence: "open_weights", settings: {}, created_at: "2026-01-01T00:00:00", updated_at: "2026-01-01T00:00:00", ...over,
});
const kinds = [
  { name: "math", version: "1", help: "The answer equals the reference.", settings_schema: {} },
  { name: "code", version: "1", help: "The program passes the prompt's tests.", settings_schema: {} },
  { name: "format", version: "1", help: "One closed reasoning block.", settings_schema: {} },
  {
    name: "regex",
    version: "1",
    help: "The answer matches a pattern.",
    settings_schema: {
      type: "object",
      required: ["pattern"],
      properties: {
        pattern: { type: "string", description: "The pattern." },
        target: { type: "string", enum: ["answer", "completion"], default: "answer" },
        ignore_case: { type: "boolean", default: false },
        timeout_s: { type: "number", default: 1, minimum: 0 },
      },
    },
  },
];
const estimate = {
  prompts: 90, attempts: 180, input_tokens: 9000, output_tokens: 28800, cost_usd: 0, seconds: 120,
  seconds_source: "probe", startup_s: 0, max_tokens: 160, max_tokens_source: "set in the rollout",
  price: null, basis: ["90 prompts in split 'train' x n=2"],
};

function setup(routes: Record<string, (r: Request) => Response | Promise<Response>> = {}, teachers = [teacher()]) {
  setToken("t");
  window.history.replaceState(null, "", "/projects/3/runs/new");
  const fetchMock = mockApi({
    "GET /api/users/me": () => jsonResponse(user),
    "GET /api/projects/3": () => jsonResponse(project),
    "GET /api/projects/3/prompt-sets": () => jsonResponse(sets),
    "GET /api/projects/3/teachers": () => jsonResponse(teachers),
    "GET /api/projects/3/verifier-kinds": () => jsonResponse(kinds),
    "GET /api/projects/3/stage-kinds": () => jsonResponse(STAGE_KINDS),
    "GET /api/projects/3/rubrics": () => jsonResponse([]),
    "POST /api/projects/3/runs/estimate": () => jsonResponse(estimate),
    "GET /api/projects/3/runs/51": () => jsonResponse({ id: 51, name: "demo-verified", status: "queued", stages: [], summary: {}, warnings: [], created_at: "2026-01-01T00:00:00" }),
    ...routes,
  });
  renderWithClient(<App />);
  return { fetchMock, u: userEvent.setup() };
}

const reviewLoad = {
  reasons: [
    { reason: "disagreement", routed: true, expected: null, at_most: 25 },
    { reason: "audit", routed: true, expected: 36, at_most: 180 },
    { reason: "judge_unsure", routed: true, expected: null, at_most: 180 },
    { reason: "judge_unparseable", routed: true, expected: null, at_most: 180 },
    { reason: "reference_unparseable", routed: true, expected: null, at_most: 180 },
    { reason: "judge_rejected", routed: false, expected: null, at_most: 0 },
  ],
  expected: 36,
  at_most: 180,
  tasks_per_item: 1.1,
  calibrated: false,
  basis: ["audit: 20% of 180 attempts drawn at random (the judge is not calibrated yet: audit.uncalibrated_share)"],
};

describe("launch wizard", () => {
  it("routes review by reason with caps, sends them in the recipe and shows the review load before launch", async () => {
    const { fetchMock, u } = setup({ "POST /api/projects/3/runs/estimate": () => jsonResponse({ ...estimate, review: reviewLoad }) });
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.click(screen.getByTestId("wizard-demo"));
    await u.click(screen.getByTestId("step-verify"));
    await u.click(await screen.findByTestId("field-review"));
    const routing = screen.getByTestId("review-routing");
    // both-reject is off by default; disagreements and an unsure judge are on
    expect(within(routing).getByTestId("field-review.judge_rejected.route")).not.toBeChecked();
    expect(within(routing).getByTestId("field-review.disagreement.route")).toBeChecked();
    expect(within(routing).queryByTestId("field-review.judge_rejected.max_items")).toBeNull();
    await u.type(within(routing).getByTestId("field-review.disagreement.max_items"), "25");
    await u.click(within(routing).getByTestId("field-review.judge_unparseable.route"));
    await u.clear(within(routing).getByTestId("field-review.audit.share"));
    await u.type(within(routing).getByTestId("field-review.audit.share"), "0.1");

    await u.click(screen.getByTestId("step-launch"));
    expect(await screen.findByTestId("estimate-review-total")).toHaveTextContent("36 items for certain (the audit), at most 180 in all");
    expect(screen.getByTestId("estimate-review-audit")).toHaveTextContent("Random audit");
    expect(screen.getByTestId("estimate-review-audit")).toHaveTextContent("36");
    expect(screen.getByTestId("estimate-review-disagreement")).toHaveTextContent("depends on the verdicts25");
    expect(screen.queryByTestId("estimate-review-judge_rejected")).toBeNull();
    expect(screen.getByTestId("estimate-review-off")).toHaveTextContent("Not routed: judge rejected.");
    const calls = requestsTo(fetchMock, "/api/projects/3/runs/estimate");
    const sent = (await calls[calls.length - 1].clone().json()).recipe; // the body is {recipe}, as a run's
    expect(sent.stages).toContain("review");
    expect(sent.review).toEqual({ disagreement: { route: true, max_items: 25 }, judge_unparseable: { route: false }, audit: { share: 0.1, uncalibrated_share: 0.2 } });
  });

  it("fills in the demo recipe, estimates it, shows its YAML and launches exactly that recipe", async () => {
    const { fetchMock, u } = setup({
      "POST /api/projects/3/runs": () => jsonResponse({ id: 51, name: "demo-verified", status: "queued", stages: [] }, 202),
    });
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await screen.findByRole("option", { name: /tiny \(transformers_local/ });
    await u.click(screen.getByTestId("wizard-demo"));
    expect(screen.getByTestId("field-prompt_set_id")).toHaveValue("7");
    expect(screen.getByTestId("licence-note")).toHaveAttribute("data-licence", "open_weights");

    await u.click(screen.getByTestId("step-sampling"));
    expect(screen.getByTestId("field-rollout.n")).toHaveValue(4);
    await u.click(screen.getByTestId("step-verify"));
    expect(await screen.findByTestId("verifier-math")).toBeChecked();
    expect(screen.getByTestId("verifier-format")).not.toBeChecked();

    await u.click(screen.getByTestId("step-launch"));
    expect(await screen.findByTestId("estimate-attempts")).toHaveTextContent("180 attempts");
    expect(screen.getByTestId("estimate-time")).toHaveTextContent("2 min");
    expect(screen.getByTestId("estimate-time-source")).toHaveTextContent("at the speed the teacher's probe measured");
    expect(screen.getByTestId("estimate-max-tokens")).toHaveTextContent("160 per attempt (set in the rollout)");
    const expected = buildRecipe(demoState(defaultState(STAGE_KINDS), 7, 9), defaultState(STAGE_KINDS));
    expect(yaml.load(screen.getByTestId("wizard-yaml").textContent ?? "")).toEqual(expected);
    expect(screen.getByTestId("wizard-download")).toHaveAttribute("download", "demo-verified.yaml");
    expect(await requestsTo(fetchMock, "/api/projects/3/runs/estimate")[0].clone().json()).toEqual({ recipe: expected });

    await u.click(screen.getByTestId("wizard-launch"));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/3/runs/51"));
    const body = await requestsTo(fetchMock, "/api/projects/3/runs").find((r) => r.method === "POST")!.clone().json();
    expect(body).toEqual({ name: "demo-verified", recipe: expected });
  });

  it("shows the API's 422 at the field and opens the step it belongs to", async () => {
    const { u } = setup({
      "POST /api/projects/3/runs": () =>
        jsonResponse(
          {
            error: {
              code: "validation_error",
              message: "invalid request: body.recipe.rollout.n: Input should be less than or equal to 64",
              fields: [{ path: "body.recipe.rollout.n", message: "Input should be less than or equal to 64", type: "less_than_equal" }],
            },
          },
          422,
        ),
    });
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7");
    await u.selectOptions(screen.getByTestId("field-teacher_id"), "9");
    await u.click(screen.getByTestId("step-launch"));
    await screen.findByTestId("estimate-attempts");
    await u.click(screen.getByTestId("wizard-launch"));

    // Back on the sampling step, the message under the field, and the step marked.
    expect(await screen.findByTestId("error-rollout.n")).toHaveTextContent("less than or equal to 64");
    expect(screen.getByTestId("wizard-step-sampling")).toBeInTheDocument();
    expect(screen.getByTestId("field-rollout.n")).toHaveAttribute("aria-invalid", "true");
    expect(within(screen.getByTestId("step-sampling")).getByText("1")).toHaveClass("badge");
    expect(screen.getByTestId("wizard-error")).toHaveTextContent("rollout.n");
  });

  it("warns about a teacher whose terms forbid training competitors and asks before launching a training run", async () => {
    const { u } = setup({}, [teacher({ licence: "api_no_compete", name: "gpt", backend: "openai_compat" })]);
    await screen.findByRole("option", { name: /gpt/ });
    await u.click(screen.getByTestId("wizard-demo"));
    expect(screen.getByTestId("licence-note")).toHaveTextContent("forbid using its outputs to train competing models");
    await u.click(screen.getByTestId("step-launch"));
    await screen.findByTestId("estimate-attempts");
    const launch = screen.getByTestId("wizard-launch");
    expect(launch).toBeDisabled();
    await u.click(screen.getByTestId("licence-ack"));
    expect(launch).toBeEnabled();
  });

  it("loads a recipe YAML file into the steps", async () => {
    const { u } = setup();
    await screen.findByRole("option", { name: /gsm8k v2/ });
    const file = new File(
      ["prompt_set_id: 7\nteacher_id: 9\nstages: [rollout, filter, snapshot, train]\nrollout: {n: 6}\nfilter: {verifiers: {verifiers: [{name: format}]}}\ntrain: {method: dpo, beta: 0.3}\n"],
      "r.yaml",
    );
    await u.upload(screen.getByTestId("wizard-load"), file);
    await waitFor(() => expect(screen.getByTestId("field-prompt_set_id")).toHaveValue("7"));
    await u.click(screen.getByTestId("step-training"));
    expect(screen.getByTestId("field-train.method")).toHaveValue("dpo");
    expect(screen.getByTestId("field-train.beta")).toHaveValue(0.3);
    await u.upload(screen.getByTestId("wizard-load"), new File(["a: [1"], "bad.yaml"));
    expect(await screen.findByTestId("wizard-load-error")).toHaveTextContent("not valid YAML");
  });

  it("runs the evaluation's local models on vLLM when asked", async () => {
    const { u } = setup();
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.click(screen.getByTestId("wizard-demo"));
    await u.click(screen.getByTestId("step-evaluation"));
    expect(screen.getByTestId("field-evaluate.backend")).toHaveValue("transformers_local");
    await u.selectOptions(screen.getByTestId("field-evaluate.backend"), "vllm");
    await u.type(screen.getByTestId("field-evaluate.max_model_len"), "4096");
    await u.click(screen.getByTestId("step-launch"));
    const recipe = yaml.load(screen.getByTestId("wizard-yaml").textContent ?? "") as { evaluate: { models: unknown } };
    const served = { backend: "vllm", settings: { max_model_len: 4096 } };
    expect(recipe.evaluate.models).toEqual([{ role: "base", ...served }, { role: "student", ...served }, { role: "teacher" }]);
  });

  it("edits a verifier's settings from its schema and writes only what changed", async () => {
    const { u } = setup();
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7");
    await u.selectOptions(screen.getByTestId("field-teacher_id"), "9");
    await u.click(screen.getByTestId("step-verify"));
    await u.click(await screen.findByTestId("verifier-regex"));
    const panel = screen.getByTestId("verifier-settings-regex");
    expect(panel).toHaveAttribute("open");
    expect(panel).toHaveTextContent("needs pattern");
    await u.type(within(panel).getByTestId("field-filter.verifiers.verifiers.1.settings.pattern"), "^\\d+$");
    await u.click(within(panel).getByTestId("field-filter.verifiers.verifiers.1.settings.ignore_case"));
    await u.click(screen.getByTestId("step-launch"));
    const recipe = yaml.load(screen.getByTestId("wizard-yaml").textContent ?? "") as { filter: unknown };
    expect(recipe.filter).toEqual({
      verifiers: { mode: "all", verifiers: [{ name: "math" }, { name: "regex", settings: { pattern: "^\\d+$", ignore_case: true } }] },
    });
  });

  it("launches a train-only run of an existing snapshot with a pre-flight check waived, no teacher asked", async () => {
    const { fetchMock, u } = setup({
      "POST /api/projects/3/runs": () => jsonResponse({ id: 51, name: "t", status: "queued", stages: [] }, 202),
    });
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7");
    await u.click(screen.getByTestId("field-rollout"));
    await u.click(screen.getByTestId("field-profile"));
    await u.click(screen.getByTestId("step-sampling"));
    expect(screen.getByTestId("no-rollout")).toBeInTheDocument();
    await u.click(screen.getByTestId("step-training"));
    await u.click(screen.getByTestId("field-train"));
    expect(screen.getByTestId("train-needs-data")).toBeInTheDocument();
    await u.type(screen.getByTestId("field-train.snapshot_id"), "4");
    expect(screen.queryByTestId("train-needs-data")).not.toBeInTheDocument();
    // the schema's waivable checks, too_long not among them
    expect(screen.queryByTestId("field-train.override_checks-too_long")).not.toBeInTheDocument();
    await u.click(screen.getByTestId("field-train.override_checks-truncated_traces"));
    await u.click(screen.getByTestId("step-launch"));
    expect(screen.getByTestId("wizard-stages")).toHaveTextContent("Stages: train");
    expect(screen.queryByTestId("wizard-estimate")).not.toBeInTheDocument();
    await u.click(screen.getByTestId("wizard-launch"));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/3/runs/51"));
    const body = await requestsTo(fetchMock, "/api/projects/3/runs").find((r) => r.method === "POST")!.clone().json();
    expect(body.recipe.stages).toEqual(["train"]);
    expect(body.recipe).not.toHaveProperty("rollout");
    expect(body.recipe.train).toMatchObject({ snapshot_id: 4, override_checks: ["truncated_traces"] });
    expect(requestsTo(fetchMock, "/api/projects/3/runs/estimate")).toHaveLength(0);
  });

  it("launches an evaluate-only run of an existing model, scored by verifiers of its own", async () => {
    const { fetchMock, u } = setup({
      "POST /api/projects/3/runs": () => jsonResponse({ id: 51, name: "e", status: "queued", stages: [] }, 202),
    });
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7");
    await u.click(screen.getByTestId("field-rollout"));
    await u.click(screen.getByTestId("field-profile"));
    await u.click(screen.getByTestId("step-evaluation"));
    await u.click(screen.getByTestId("field-evaluate"));
    await u.click(screen.getByTestId("eval-teacher"));
    await u.type(screen.getByTestId("field-evaluate.models.1.model"), "artifact:3");
    await u.click(screen.getByTestId("field-evaluate.verifiers"));
    // it starts from the verifiers the prompt set suggests (gsm8k: math)
    expect(await screen.findByTestId("eval-verifier-math")).toBeChecked();
    await u.click(screen.getByTestId("eval-verifier-format"));
    await u.click(screen.getByTestId("step-launch"));
    await u.click(screen.getByTestId("wizard-launch"));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/3/runs/51"));
    const body = await requestsTo(fetchMock, "/api/projects/3/runs").find((r) => r.method === "POST")!.clone().json();
    expect(body.recipe.stages).toEqual(["evaluate"]);
    expect(body.recipe.evaluate).toEqual({
      models: [{ role: "base" }, { role: "student", model: "artifact:3" }],
      verifiers: { mode: "all", verifiers: [{ name: "math" }, { name: "format" }] },
      max_tokens: 512,
    });
  });

  it("loads a train-only recipe without adding a rollout", async () => {
    const { u } = setup();
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.upload(screen.getByTestId("wizard-load"), new File(["prompt_set_id: 7\nstages: [train]\ntrain: {snapshot_id: 4, override_checks: [eos_trained]}\n"], "t.yaml"));
    await waitFor(() => expect(screen.getByTestId("field-prompt_set_id")).toHaveValue("7"));
    expect(screen.getByTestId("field-rollout")).not.toBeChecked();
    await u.click(screen.getByTestId("step-training"));
    expect(screen.getByTestId("field-train.override_checks-eos_trained")).toBeChecked();
    await u.click(screen.getByTestId("step-launch"));
    expect(screen.getByTestId("wizard-stages")).toHaveTextContent("Stages: train");
    const recipe = yaml.load(screen.getByTestId("wizard-yaml").textContent ?? "") as Record<string, unknown>;
    expect(recipe.stages).toEqual(["train"]);
    expect(recipe).not.toHaveProperty("rollout");
  });

  it("suggests verifiers from what the prompt set holds, and never math for a code set", async () => {
    const { u } = setup();
    await screen.findByRole("option", { name: /humaneval v1/ });
    const checked = async () => {
      await u.click(screen.getByTestId("step-verify"));
      const on = ["math", "code", "format", "regex"].filter((n) => (screen.getByTestId(`verifier-${n}`) as HTMLInputElement).checked);
      await u.click(screen.getByTestId("step-data"));
      return on;
    };
    // nothing before a set is chosen
    await u.click(screen.getByTestId("step-verify"));
    expect(await screen.findByTestId("verifier-math")).not.toBeChecked();
    await u.click(screen.getByTestId("step-data"));

    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "8"); // tests only
    expect(screen.getByTestId("verifier-suggestion")).toHaveAttribute("data-kind", "code");
    expect(screen.getByTestId("verifier-suggestion")).toHaveTextContent("164 prompts have tests");
    expect(await checked()).toEqual(["code"]);

    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7"); // references only
    expect(screen.getByTestId("verifier-suggestion")).toHaveAttribute("data-kind", "math");
    expect(await checked()).toEqual(["math"]);

    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "10"); // both: code, and says so
    expect(screen.getByTestId("verifier-suggestion")).toHaveTextContent("holds tests and references");
    expect(await checked()).toEqual(["code"]);

    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "11"); // neither
    expect(screen.getByTestId("verifier-suggestion")).toHaveTextContent("no tests and no references");
    expect(await checked()).toEqual([]);

    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "12"); // not counted: left alone
    expect(screen.getByTestId("verifier-suggestion")).toHaveAttribute("data-kind", "unknown");
    expect(await checked()).toEqual([]);

    // Once someone picks verifiers, another set no longer replaces them; the suggestion is a click away.
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "8");
    await u.click(screen.getByTestId("step-verify"));
    await u.click(screen.getByTestId("verifier-format"));
    await u.click(screen.getByTestId("step-data"));
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7");
    expect(await checked()).toEqual(["code", "format"]);
    await u.click(screen.getByTestId("step-verify"));
    await u.click(screen.getByTestId("use-suggestion"));
    expect(screen.getByTestId("verifier-math")).toBeChecked();
    expect(screen.getByTestId("verifier-code")).not.toBeChecked();
    expect(screen.queryByTestId("use-suggestion")).toBeNull();
  });
});
