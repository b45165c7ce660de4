import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import { jsonResponse, mockApi, renderWithClient, user } from "../../test/helpers";
import { STAGE_KINDS } from "../../test/stageKinds";

/** The wizard's teacher-logprob fields (TeacherLogprobs.tsx), each drawn from its stage's settings schema. */

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "maintainer" };
const promptSet = {
  id: 7, project_id: 3, name: "gsm8k", version: 2, parent_id: null, source: "x", status: "ready", frozen: false, prompt_count: 120,
  stats: {}, created_at: "2026-01-01T00:00:00", with_tests: 0, with_reference: 120,
};
const teacher = (over: Record<string, unknown> = {}) => ({
  id: 9, project_id: 3, name: "tiny", backend: "transformers_local", model: "tiny", base_url: null, has_api_key: false,
  licence: "open_weights", settings: {}, created_at: "2026-01-01T00:00:00", updated_at: "2026-01-01T00:00:00", ...over,
});
const TEACHERS = [
  teacher(),
  teacher({ id: 10, name: "served", backend: "vllm", model: "/models/teacher" }),
  teacher({ id: 11, name: "remote", backend: "openai_compat", model: "t", base_url: "http://10.0.0.5:8000/v1" }),
];

function setup() {
  setToken("t");
  window.history.replaceState(null, "", "/projects/3/runs/new");
  mockApi({
    "GET /api/users/me": () => jsonResponse(user),
    "GET /api/projects/3": () => jsonResponse(project),
    "GET /api/projects/3/prompt-sets": () => jsonResponse([promptSet]),
    "GET /api/projects/3/teachers": () => jsonResponse(TEACHERS),
    "GET /api/projects/3/verifier-kinds": () => jsonResponse([{ name: "math", version: "1", help: "", settings_schema: {} }]),
    "GET /api/projects/3/stage-kinds": () => jsonResponse(STAGE_KINDS),
    "GET /api/projects/3/rubrics": () => jsonResponse([]),
    "POST /api/projects/3/runs/estimate": () => jsonResponse({}, 500),
  });
  renderWithClient(<App />);
  return userEvent.setup();
}

type Written = { stages: string[]; teacher_id?: number; rollout?: Record<string, unknown>; score?: unknown; train?: Record<string, unknown> };
/** A number field set at once (typing into a required one would start from its minimum). */
const setNumber = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
const ready = () => screen.findByRole("option", { name: /gsm8k v2/ }, { timeout: 20000 });
const written = () => yaml.load(screen.getByTestId("wizard-yaml").textContent ?? "") as Written;

describe("the wizard's teacher logprobs", () => {
  it("captures the teacher's top-K logprobs at rollout, within the schema's bounds", async () => {
    const u = setup();
    await ready();
    await u.click(screen.getByTestId("wizard-demo"));
    await u.click(screen.getByTestId("step-sampling"));
    const field = screen.getByTestId("field-rollout.logprobs");
    expect(field).toHaveValue(null); // off by default
    expect(field).toHaveAttribute("min", "1");
    expect(field).toHaveAttribute("max", "20");
    expect(screen.getByTestId("rollout-logprobs")).toHaveTextContent("teacher_logprobs.parquet");
    await u.type(field, "20");
    await u.click(screen.getByTestId("step-launch"));
    expect(written().rollout).toMatchObject({ n: 4, logprobs: 20 });
    await u.click(screen.getByTestId("step-sampling"));
    await u.clear(screen.getByTestId("field-rollout.logprobs"));
    await u.click(screen.getByTestId("step-launch"));
    expect(written().rollout).not.toHaveProperty("logprobs");
  });

  it("adds the score stage after the run's snapshot, and warns while the teacher is not vLLM", async () => {
    const u = setup();
    await ready();
    await u.click(screen.getByTestId("wizard-demo")); // the first teacher: tiny, transformers_local
    await u.click(screen.getByTestId("step-selection"));
    expect(screen.queryByTestId("field-score.k")).not.toBeInTheDocument();
    await u.click(screen.getByTestId("field-score"));
    expect(screen.getByTestId("score-needs-vllm")).toHaveTextContent("tiny is transformers_local");
    expect(screen.getByTestId("field-score.k")).toHaveValue(20); // the schema's default
    setNumber(screen.getByTestId("field-score.k"), "10");
    await u.click(screen.getByTestId("step-launch"));
    expect(written().stages).toEqual(["rollout", "filter", "snapshot", "score", "train", "evaluate"]);
    expect(written().score).toEqual({ k: 10 });
    await u.click(screen.getByTestId("step-data"));
    await u.selectOptions(screen.getByTestId("field-teacher_id"), "10");
    await u.click(screen.getByTestId("step-selection"));
    expect(screen.queryByTestId("score-needs-vllm")).not.toBeInTheDocument();
  });

  it("scores an existing snapshot alone, without a rollout", async () => {
    const u = setup();
    await ready();
    await u.selectOptions(screen.getByTestId("field-prompt_set_id"), "7");
    await u.selectOptions(screen.getByTestId("field-teacher_id"), "10");
    await u.click(screen.getByTestId("field-rollout"));
    await u.click(screen.getByTestId("field-profile"));
    await u.click(screen.getByTestId("step-selection"));
    expect(screen.getByTestId("no-rollout")).toBeInTheDocument();
    await u.click(screen.getByTestId("field-score"));
    await u.type(screen.getByTestId("field-score.snapshot_id"), "5");
    await u.click(screen.getByTestId("step-launch"));
    expect(written()).toMatchObject({ stages: ["score"], teacher_id: 10, score: { snapshot_id: 5 } });
  });

  it("picks distill's teacher endpoint, says where it runs and sets a served teacher's top-k and tolerance", async () => {
    const u = setup();
    await ready();
    await u.click(screen.getByTestId("wizard-demo"));
    await u.click(screen.getByTestId("step-training"));
    expect(screen.queryByTestId("served-teacher")).not.toBeInTheDocument(); // sft: no teacher scores samples
    await u.selectOptions(screen.getByTestId("field-train.method"), "distill");
    const served = screen.getByTestId("served-teacher");
    expect(within(served).getByTestId("field-distill-teacher")).toHaveValue("9");
    expect(screen.getByTestId("served-teacher-placement")).toHaveAttribute("data-served", "false");
    expect(screen.getByTestId("served-teacher-placement")).toHaveTextContent("loaded in the training worker");
    await u.selectOptions(within(served).getByTestId("field-distill-teacher"), "11");
    expect(screen.getByTestId("served-teacher-placement")).toHaveTextContent("asked at http://10.0.0.5:8000/v1: it must be a vLLM server");
    await u.selectOptions(within(served).getByTestId("field-distill-teacher"), "10");
    expect(screen.getByTestId("served-teacher-placement")).toHaveAttribute("data-served", "true");
    expect(screen.getByTestId("served-teacher-placement")).toHaveTextContent("served by a vLLM server the worker starts from /models/teacher");
    const topK = screen.getByTestId("field-train.teacher_top_k");
    expect(topK).toHaveValue(1); // the schema's defaults
    expect(topK).toHaveAttribute("max", "20");
    expect(screen.getByTestId("field-train.self_test_tolerance")).toHaveValue(0.05);
    setNumber(topK, "20");
    setNumber(screen.getByTestId("field-train.beta"), "0");
    await u.click(screen.getByTestId("step-launch"));
    const recipe = written();
    expect(recipe.teacher_id).toBe(10); // the run's teacher: the Data step shows the same choice
    expect(recipe.train).toMatchObject({ method: "distill", beta: 0, teacher_top_k: 20 });
    expect(recipe.train).not.toHaveProperty("self_test_tolerance"); // at its default: left to the API
    await u.click(screen.getByTestId("step-data"));
    expect(screen.getByTestId("field-teacher_id")).toHaveValue("10");
  });
});
