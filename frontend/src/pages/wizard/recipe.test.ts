import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { STAGE_KINDS } from "../../test/stageKinds";
import { buildRecipe, defaultState, demoState, METHOD_FIELDS, parseRecipeYaml, recipePath, stagesOf, stateFromRecipe, stepOfPath, toYaml, type WizardState } from "./recipe";
import { choicesOf } from "./schema";

const DEFAULT_STATE = defaultState(STAGE_KINDS);

/** Every wizard feature switched on: tests/api/test_wizard_recipe.py checks the API accepts its YAML. */
export function fullState(): WizardState {
  return {
    ...DEFAULT_STATE,
    prompt_set_id: 1,
    teacher_id: 1,
    rollout: { ...DEFAULT_STATE.rollout, n: 8, stop_when_verified: 2, seed: 7, top_p: 0.95 },
    verifiers: { mode: "any", names: ["math", "format"], settings: { format: { min_answer_chars: 1, max_chars: 4000 } } },
    judge: { ...DEFAULT_STATE.judge, enabled: true, accept_threshold: 7 },
    review: {
      ...DEFAULT_STATE.review,
      enabled: true,
      audit: { ...DEFAULT_STATE.review.audit, share: 0.1, max_items: 50 },
      rules: {
        ...DEFAULT_STATE.review.rules,
        disagreement: { route: true, max_items: 100, max_share: null },
        judge_rejected: { route: true, max_items: null, max_share: 0.05 },
      },
      unsure_margin: 0.5,
    },
    snapshot: { ...DEFAULT_STATE.snapshot, pass_rate_band: [0.1, 0.9], max_per_prompt: 2, pick: "judge_score" },
    train: { ...DEFAULT_STATE.train, enabled: true, method: "grpo", lora: { r: 8, alpha: 16, dropout: 0 }, max_steps: 100 },
    evaluate: { ...DEFAULT_STATE.evaluate, enabled: true, backend: "vllm", k: 4, max_prompts: 50 },
  };
}

/** Train an existing snapshot, nothing else: no rollout, no teacher. */
export function trainOnlyState(): WizardState {
  return {
    ...DEFAULT_STATE,
    prompt_set_id: 1,
    profile: false,
    rollout: { ...DEFAULT_STATE.rollout, enabled: false },
    verifiers: { mode: "all", names: ["math"], settings: {} }, // chosen, but no rollout: no filter
    train: { ...DEFAULT_STATE.train, enabled: true, snapshot_id: 4, override_checks: ["truncated_traces"], max_length: 2048, too_long: "refuse", max_steps: 10 },
  };
}

/** Evaluate an existing model against its base, scored by verifiers of the evaluation's own. */
export function evaluateOnlyState(): WizardState {
  return {
    ...DEFAULT_STATE,
    prompt_set_id: 1,
    profile: false,
    rollout: { ...DEFAULT_STATE.rollout, enabled: false },
    evaluate: {
      ...DEFAULT_STATE.evaluate,
      enabled: true,
      models: ["base", "student"],
      model: { base: "Qwen/Qwen2.5-0.5B-Instruct", student: "artifact:3", teacher: "" },
      verifiers: { mode: "all", names: ["math"], settings: {} },
      max_tokens: 256,
    },
  };
}

const fixture = (name: string) => join(dirname(fileURLToPath(import.meta.url)), "fixtures", name);

function matchesFixture(name: string, text: string) {
  // WRITE_FIXTURES=1 npx vitest run src/pages/wizard rewrites them after an intended change.
  if (process.env.WRITE_FIXTURES) writeFileSync(fixture(name), text);
  expect(text).toBe(readFileSync(fixture(name), "utf8"));
}

describe("wizard recipe", () => {
  it("writes make demo's recipe (the YAML the API test validates)", () => {
    const recipe = buildRecipe(demoState(DEFAULT_STATE, 1, 1), DEFAULT_STATE);
    expect(recipe.stages).toEqual(["rollout", "filter", "snapshot", "train", "evaluate"]);
    expect(recipe.rollout).toEqual({ n: 4, stop_when_verified: 1, temperature: 1, max_tokens: 160, seed: 0, chunk_size: 300 });
    expect(recipe.filter).toEqual({ verifiers: { mode: "all", verifiers: [{ name: "math" }] } });
    expect(recipe.snapshot).toEqual({ drop_near_duplicates: false, preference_pairs: false });
    expect(recipe.evaluate).toEqual({ models: [{ role: "base" }, { role: "student" }, { role: "teacher" }], max_tokens: 160, max_prompts: 20 });
    matchesFixture("demo-recipe.yaml", toYaml(recipe));
  });

  it("writes every feature into its stage's settings", () => {
    const recipe = buildRecipe(fullState(), DEFAULT_STATE);
    expect(recipe.stages).toEqual(["profile", "rollout", "filter", "judge", "review", "snapshot", "train", "evaluate"]);
    expect(recipe.rollout).toMatchObject({ n: 8, stop_when_verified: 2, top_p: 0.95 });
    expect(recipe.train).toMatchObject({ method: "grpo", num_generations: 4, lora: { r: 8 } });
    expect(recipe.train).not.toHaveProperty("beta");
    expect(recipe.train).not.toHaveProperty("epochs");
    matchesFixture("full-recipe.yaml", toYaml(recipe));
  });

  it("writes the teacher's logprobs: rollout.logprobs, the score stage, a served distill teacher's settings; and reads them back", () => {
    const state: WizardState = {
      ...DEFAULT_STATE,
      prompt_set_id: 1,
      teacher_id: 2,
      rollout: { ...DEFAULT_STATE.rollout, n: 2, logprobs: 20 },
      verifiers: { mode: "all", names: ["math"], settings: {} },
      score: { enabled: true, settings: { k: 10, batch_size: 4 } },
      train: { ...DEFAULT_STATE.train, enabled: true, method: "distill", beta: 0, teacher_top_k: 20, self_test_tolerance: 0.1, max_steps: 10 },
    };
    const recipe = buildRecipe(state, DEFAULT_STATE);
    expect(recipe.stages).toEqual(["profile", "rollout", "filter", "snapshot", "score", "train"]);
    expect(recipe.rollout).toMatchObject({ n: 2, logprobs: 20 });
    expect(recipe.score).toEqual({ k: 10, batch_size: 4 });
    expect(recipe.train).toMatchObject({ method: "distill", beta: 0, teacher_top_k: 20, self_test_tolerance: 0.1 });
    matchesFixture("teacher-logprobs-recipe.yaml", toYaml(recipe));
    const back = stateFromRecipe(recipe, DEFAULT_STATE);
    expect(back.rollout.logprobs).toBe(20);
    expect(back.score).toEqual({ enabled: true, settings: { k: 10, batch_size: 4 } });
    expect(back.train).toMatchObject({ teacher_top_k: 20, self_test_tolerance: 0.1 });
    // at their defaults, none of them is written: off, no score stage, the served settings left out
    const plain = buildRecipe({ ...state, rollout: { ...state.rollout, logprobs: null }, score: { enabled: false, settings: {} },
      train: { ...state.train, teacher_top_k: DEFAULT_STATE.train.teacher_top_k, self_test_tolerance: DEFAULT_STATE.train.self_test_tolerance } }, DEFAULT_STATE);
    expect(plain.stages).not.toContain("score");
    expect(plain.rollout).not.toHaveProperty("logprobs");
    expect(plain.train).not.toHaveProperty("teacher_top_k");
    expect(plain.train).not.toHaveProperty("self_test_tolerance");
    // another method never carries distill's served settings
    expect(buildRecipe({ ...state, train: { ...state.train, method: "sft" } }, DEFAULT_STATE).train).not.toHaveProperty("teacher_top_k");
    // an existing snapshot scored alone: no rollout, no snapshot stage
    const alone = buildRecipe({ ...DEFAULT_STATE, prompt_set_id: 1, teacher_id: 2, profile: false, rollout: { ...DEFAULT_STATE.rollout, enabled: false },
      score: { enabled: true, settings: { snapshot_id: 5 } } }, DEFAULT_STATE);
    expect(alone.stages).toEqual(["score"]);
    expect(alone.score).toEqual({ snapshot_id: 5 });
    expect(stepOfPath("body.recipe.score.k")).toBe("selection");
  });

  it("writes only the review routing settings changed from the defaults, and reads them (and older recipes) back", () => {
    const d = DEFAULT_STATE.review;
    expect(d.rules.judge_rejected.route).toBe(false);
    expect(d.rules.disagreement.route).toBe(true);
    const state = {
      ...DEFAULT_STATE,
      review: { ...d, enabled: true, rules: { ...d.rules, judge_unsure: { route: true, max_items: 20, max_share: 0.1 } } },
    };
    const recipe = buildRecipe(state, DEFAULT_STATE);
    expect(recipe.review).toEqual({ judge_unsure: { route: true, max_items: 20, max_share: 0.1 } });
    const back = parseRecipeYaml(toYaml(recipe), DEFAULT_STATE);
    expect(back.review).toEqual(state.review);
    // a recipe from before the audit names its shares at the top: they become the audit's
    const old = parseRecipeYaml("stages: [rollout, filter, review]\nreview: {sample_share: 0.3, uncalibrated_share: 0.4}\n", DEFAULT_STATE);
    expect(old.review.audit).toMatchObject({ share: 0.3, uncalibrated_share: 0.4 });
    expect(buildRecipe(old, DEFAULT_STATE).review).toEqual({ audit: { share: 0.3, uncalibrated_share: 0.4 } });
  });

  it("builds a train-only recipe of an existing snapshot, with its waivers, and no rollout", () => {
    const recipe = buildRecipe(trainOnlyState(), DEFAULT_STATE);
    expect(recipe.stages).toEqual(["train"]);
    expect(recipe).not.toHaveProperty("rollout");
    expect(recipe).not.toHaveProperty("filter");
    expect(recipe.train).toMatchObject({ snapshot_id: 4, override_checks: ["truncated_traces"], max_length: 2048, too_long: "refuse" });
    matchesFixture("train-only-recipe.yaml", toYaml(recipe));
  });

  it("builds an evaluate-only recipe of existing models with the evaluation's own verifiers", () => {
    const recipe = buildRecipe(evaluateOnlyState(), DEFAULT_STATE);
    expect(recipe.stages).toEqual(["evaluate"]);
    expect(recipe.evaluate).toEqual({
      models: [
        { role: "base", model: "Qwen/Qwen2.5-0.5B-Instruct" },
        { role: "student", model: "artifact:3" },
      ],
      verifiers: { mode: "all", verifiers: [{ name: "math" }] },
      max_tokens: 256,
    });
    matchesFixture("evaluate-only-recipe.yaml", toYaml(recipe));
  });

  it("never adds a stage a loaded recipe did not have, and reads back what it wrote", () => {
    const recipes: Record<string, unknown>[] = [
      buildRecipe(trainOnlyState(), DEFAULT_STATE),
      buildRecipe(evaluateOnlyState(), DEFAULT_STATE),
      buildRecipe(fullState(), DEFAULT_STATE),
      buildRecipe(demoState(DEFAULT_STATE, 1, 1), DEFAULT_STATE),
      { prompt_set_id: 1, stages: ["profile"] },
      { prompt_set_id: 1, stages: ["profile", "evaluate"], evaluate: { models: [{ role: "other", model: "x/y" }] } },
      { prompt_set_id: 1, teacher_id: 2, stages: ["rollout", "judge", "review"] },
    ];
    for (const recipe of recipes) {
      const loaded = stateFromRecipe(recipe, DEFAULT_STATE);
      expect(stagesOf(loaded)).toEqual(recipe.stages);
      const again = buildRecipe(loaded, DEFAULT_STATE) as Record<string, unknown>;
      expect(again.stages).toEqual(recipe.stages);
      // each stage's settings as loaded (the wizard may write a default out)
      for (const kind of recipe.stages as string[]) expect(again[kind]).toMatchObject((recipe[kind] ?? {}) as object);
    }
  });

  it("offers the schema's waivable pre-flight checks for a method, never too_long", () => {
    const sft = choicesOf(STAGE_KINDS, "train", "override_checks", "sft");
    expect(sft).toContain("truncated_traces");
    expect(sft).toContain("eos_trained");
    expect(sft).not.toContain("too_long");
  });

  it("writes batch mode only when chosen and reads it back", () => {
    expect(DEFAULT_STATE.rollout.mode).toBe("online");
    expect(buildRecipe(DEFAULT_STATE, DEFAULT_STATE).rollout).not.toHaveProperty("mode");
    const state = { ...DEFAULT_STATE, rollout: { ...DEFAULT_STATE.rollout, mode: "batch" as const } };
    const recipe = buildRecipe(state, DEFAULT_STATE);
    expect(recipe.rollout).toMatchObject({ mode: "batch" });
    expect(parseRecipeYaml(toYaml(recipe), DEFAULT_STATE).rollout.mode).toBe("batch");
  });

  it("writes a smoke run only when chosen and reads it back", () => {
    expect(DEFAULT_STATE.rollout.smoke).toBeNull();
    expect(buildRecipe(DEFAULT_STATE, DEFAULT_STATE).rollout).not.toHaveProperty("smoke");
    const smoke = { prompts: 25, min_accept: 0.6 };
    const recipe = buildRecipe({ ...DEFAULT_STATE, rollout: { ...DEFAULT_STATE.rollout, smoke } }, DEFAULT_STATE);
    expect(recipe.rollout).toMatchObject({ smoke });
    expect(parseRecipeYaml(toYaml(recipe), DEFAULT_STATE).rollout.smoke).toEqual(smoke);
  });

  it("leaves max_tokens out by default (auto: the API decides) and reads it back as auto", () => {
    const recipe = buildRecipe({ ...DEFAULT_STATE, prompt_set_id: 1, teacher_id: 2 }, DEFAULT_STATE);
    expect(DEFAULT_STATE.rollout.max_tokens).toBeNull();
    expect(recipe.rollout).toEqual({ n: 4, temperature: 0.7 });
    expect(parseRecipeYaml(toYaml(recipe), DEFAULT_STATE).rollout.max_tokens).toBeNull();
    const set = buildRecipe({ ...DEFAULT_STATE, rollout: { ...DEFAULT_STATE.rollout, max_tokens: 32768 } }, DEFAULT_STATE);
    expect(set.rollout).toMatchObject({ max_tokens: 32768 });
    expect(parseRecipeYaml(toYaml(set), DEFAULT_STATE).rollout.max_tokens).toBe(32768);
  });

  it("drops the filter and snapshot without verifiers, and keeps settings the wizard has no field for", () => {
    const noFilter = buildRecipe({ ...DEFAULT_STATE, prompt_set_id: 3, teacher_id: 4, verifiers: { mode: "all", names: [], settings: {} } }, DEFAULT_STATE);
    expect(noFilter.stages).toEqual(["profile", "rollout"]);
    expect(noFilter).not.toHaveProperty("snapshot");

    const loaded = parseRecipeYaml(`
prompt_set_id: 5
teacher_id: 6
stages: [rollout, filter, snapshot, train]
rollout: {n: 3, max_tokens: 64, concurrency: 8}
filter: {verifiers: {mode: all, verifiers: [{name: regex, settings: {pattern: "^4$"}}]}}
train: {method: dpo, beta: 0.2, student: tiny, weight_decay: 0.01}
`, DEFAULT_STATE);
    expect(stagesOf(loaded)).toEqual(["rollout", "filter", "snapshot", "train"]);
    expect(loaded.train.method).toBe("dpo");
    const again = buildRecipe(loaded, DEFAULT_STATE);
    expect(again.rollout).toMatchObject({ n: 3, max_tokens: 64, concurrency: 8 });
    expect(again.filter).toEqual({ verifiers: { mode: "all", verifiers: [{ name: "regex", settings: { pattern: "^4$" } }] } });
    expect(again.train).toMatchObject({ method: "dpo", beta: 0.2, weight_decay: 0.01, student: "tiny" });
  });

  it("starts each method's settings at that method's defaults (the train schema is one model per method)", () => {
    const train = STAGE_KINDS.find((k) => k.name === "train")!.settings_schema as { $defs: Record<string, { properties: Record<string, { default?: unknown }> }> };
    const defs = train.$defs;
    expect(DEFAULT_STATE.train.method).toBe("sft");
    expect(DEFAULT_STATE.train.student).toBe(defs.SFTSettings.properties.student.default);
    expect(DEFAULT_STATE.train.beta).toBe(defs.DPOSettings.properties.beta.default);
    expect(DEFAULT_STATE.train.num_generations).toBe(defs.GRPOSettings.properties.num_generations.default);
    expect(DEFAULT_STATE.train.max_completion_length).toBe(defs.GRPOSettings.properties.max_completion_length.default);
    // METHOD_FIELDS is every setting that not all methods take
    const names = (m: string) => Object.keys(defs[m].properties).filter((f) => f !== "method");
    const models = ["SFTSettings", "DPOSettings", "GRPOSettings", "DistillSettings", "KDSettings"];
    const common = names("SFTSettings").filter((f) => models.every((m) => names(m).includes(f)));
    const some = [...new Set(models.flatMap(names))].filter((f) => !common.includes(f));
    expect([...METHOD_FIELDS].sort()).toEqual(some.sort());
  });

  it("drops a loaded recipe's method settings when the method changes, and keeps them when it does not", () => {
    const loaded = parseRecipeYaml(`
prompt_set_id: 5
stages: [train]
train: {snapshot_id: 3, packing: true, weight_decay: 0.01}
`, DEFAULT_STATE);
    expect(buildRecipe(loaded, DEFAULT_STATE).train).toMatchObject({ packing: true, weight_decay: 0.01 });
    const dpo = buildRecipe({ ...loaded, train: { ...loaded.train, method: "dpo" } }, DEFAULT_STATE).train;
    expect(dpo).toMatchObject({ method: "dpo", beta: DEFAULT_STATE.train.beta, weight_decay: 0.01, snapshot_id: 3 });
    expect(dpo).not.toHaveProperty("packing");
    const grpo = parseRecipeYaml(`
prompt_set_id: 5
stages: [train]
train: {snapshot_id: 3, method: grpo, beta: 0.04, num_generations: 8, per_device_batch_size: 8}
`, DEFAULT_STATE);
    expect(grpo.train.beta).toBe(DEFAULT_STATE.train.beta); // grpo's KL penalty is not the field's dpo beta
    expect(buildRecipe(grpo, DEFAULT_STATE).train).toMatchObject({ method: "grpo", beta: 0.04, num_generations: 8 });
    expect(buildRecipe({ ...grpo, train: { ...grpo.train, method: "distill" } }, DEFAULT_STATE).train).toMatchObject({ method: "distill", beta: DEFAULT_STATE.train.beta });
    const kd = buildRecipe({ ...grpo, train: { ...grpo.train, method: "kd", alpha: 0.25 } }, DEFAULT_STATE).train as Record<string, unknown>;
    expect(kd).toMatchObject({ method: "kd", alpha: 0.25, temperature: DEFAULT_STATE.train.temperature });
    expect(kd).not.toHaveProperty("num_generations");
    expect(stateFromRecipe({ stages: ["train"], train: { method: "kd", alpha: 0.8 } }, DEFAULT_STATE).train).toMatchObject({ method: "kd", alpha: 0.8 });
  });

  it("runs the local models of an evaluation on vLLM, keeping their settings, and back on transformers", () => {
    const vllm = buildRecipe(fullState(), DEFAULT_STATE);
    expect(vllm.evaluate).toMatchObject({ models: [{ role: "base", backend: "vllm" }, { role: "student", backend: "vllm" }, { role: "teacher" }] });

    const loaded = parseRecipeYaml(`
prompt_set_id: 1
teacher_id: 2
stages: [rollout, evaluate]
evaluate:
  models:
    - {role: student, label: served, backend: vllm, settings: {gpu_memory_utilization: 0.2, max_model_len: 4096}}
    - {role: teacher}
`, DEFAULT_STATE);
    expect(loaded.evaluate.backend).toBe("vllm");
    expect(loaded.evaluate.models).toEqual(["student", "teacher"]);
    const again = buildRecipe(loaded, DEFAULT_STATE);
    expect(again.evaluate).toMatchObject({
      models: [{ role: "student", label: "served", backend: "vllm", settings: { gpu_memory_utilization: 0.2, max_model_len: 4096 } }, { role: "teacher" }],
    });
    expect(loaded.evaluate.max_model_len).toBe(4096);
    const longer = buildRecipe({ ...loaded, evaluate: { ...loaded.evaluate, max_model_len: 8192 } }, DEFAULT_STATE);
    expect((longer.evaluate as { models: { settings?: unknown }[] }).models[0].settings).toEqual({ gpu_memory_utilization: 0.2, max_model_len: 8192 });
    // vLLM's settings are not transformers': switching back drops them with the backend
    const back = buildRecipe({ ...loaded, evaluate: { ...loaded.evaluate, backend: "transformers_local" } }, DEFAULT_STATE);
    expect((back.evaluate as { models: unknown[] }).models).toEqual([{ role: "student", label: "served" }, { role: "teacher" }]);
  });

  it("starts LoRA at the schema's LoraSettings defaults, also for a loaded recipe's missing ones", () => {
    const train = STAGE_KINDS.find((k) => k.name === "train")?.settings_schema as { $defs: Record<string, { properties: Record<string, { default?: unknown }> }> };
    const lora = train.$defs.LoraSettings.properties;
    expect(DEFAULT_STATE.train.lora_preset).toEqual({ r: lora.r.default, alpha: lora.alpha.default, dropout: lora.dropout.default });
    const loaded = parseRecipeYaml("stages: [rollout, train]\ntrain: {lora: {r: 4}}\n", DEFAULT_STATE);
    expect(loaded.train.lora).toEqual({ ...DEFAULT_STATE.train.lora_preset, r: 4 });
    expect(buildRecipe(loaded, DEFAULT_STATE).train).not.toHaveProperty("lora_preset");
  });

  it("leaves out what is at the schema's default, and writes it once the default differs", () => {
    const state: WizardState = { ...DEFAULT_STATE, prompt_set_id: 1, teacher_id: 1, train: { ...DEFAULT_STATE.train, enabled: true } };
    const at = buildRecipe(state, DEFAULT_STATE);
    expect(at.rollout).not.toHaveProperty("top_p");
    expect(at.train).not.toHaveProperty("gradient_accumulation");
    const other: WizardState = { ...DEFAULT_STATE, rollout: { ...DEFAULT_STATE.rollout, top_p: 0.5 }, train: { ...DEFAULT_STATE.train, gradient_accumulation: 4 } };
    const off = buildRecipe(state, other);
    expect(off.rollout).toMatchObject({ top_p: DEFAULT_STATE.rollout.top_p });
    expect(off.train).toMatchObject({ gradient_accumulation: DEFAULT_STATE.train.gradient_accumulation });
  });

  it("says what is wrong with a file that is not a recipe", () => {
    expect(() => parseRecipeYaml("a: [1, 2", DEFAULT_STATE)).toThrow(/not valid YAML/);
    expect(() => parseRecipeYaml("- 1\n- 2\n", DEFAULT_STATE)).toThrow(/mapping of settings/);
  });

  it("maps the API's field paths to the wizard's steps", () => {
    expect(recipePath("body.recipe.rollout.n")).toBe("rollout.n");
    expect(recipePath("body.rollout.n")).toBe("rollout.n");
    expect(recipePath("body.recipe")).toBe("");
    expect(stepOfPath("body.recipe.train.lora.r")).toBe("training");
    expect(stepOfPath("body.recipe.filter.verifiers.verifiers.0.name")).toBe("verify");
    expect(stepOfPath("body.name")).toBe("data");
    expect(stepOfPath("body.recipe")).toBe("launch");
  });
});
