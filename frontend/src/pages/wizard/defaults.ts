/** The wizard's starting states: the stage schemas' defaults, and `make demo`'s recipe on top of them. */
import { defsDefaults, schemaDefault, type StageKind } from "./schema";
import { ROUTED, type Lora, type RouteRule, type Routed, type WizardState } from "./recipe";

/**
 * The wizard's starting state: every setting at its stage's default, read from the stage kinds' JSON
 * Schemas (the API's own defaults, not copies), plus what the wizard decides itself: which stages run
 * (profile and snapshot on; judge, review, score, train, evaluate off), the models an evaluation compares.
 */
export function defaultState(kinds: StageKind[]): WizardState {
  const d = <T,>(stage: string, field: string, variant?: string) => schemaDefault<T>(kinds, stage, field, variant);
  return {
    name: "",
    prompt_set_id: null,
    teacher_id: null,
    profile: true,
    rollout: {
      enabled: true,
      n: d("rollout", "n"),
      temperature: d("rollout", "temperature"),
      top_p: d("rollout", "top_p"),
      max_tokens: d("rollout", "max_tokens"),
      seed: d("rollout", "seed"),
      split: d("rollout", "split"),
      mode: d("rollout", "mode"),
      stop_when_verified: d("rollout", "stop_when_verified"),
      smoke: d("rollout", "smoke"),
      system_prompt: d("rollout", "system_prompt"),
      logprobs: d("rollout", "logprobs"),
      teachers: [],
    },
    // None until a prompt set is chosen: the wizard then suggests them from what the set holds (suggest.ts)
    verifiers: { mode: "all", names: [], settings: {} },
    judge: {
      enabled: false,
      rubric_version: d("judge", "rubric_version"),
      teacher_id: d("judge", "teacher_id"),
      accept_threshold: d("judge", "accept_threshold"),
      target_precision: d("judge", "target_precision"),
      overrides_verifiers: d("judge", "overrides_verifiers"),
    },
    review: {
      enabled: false,
      rules: Object.fromEntries(ROUTED.map((why) => [why, d<RouteRule>("review", why)])) as Record<Routed, RouteRule>,
      audit: d("review", "audit"),
      unsure_margin: d("review", "unsure_margin"),
    },
    score: { enabled: false, settings: {} },
    snapshot: {
      enabled: true,
      include: d("snapshot", "include"),
      reasoning: d("snapshot", "reasoning"),
      pass_rate_band: d("snapshot", "pass_rate_band"),
      drop_near_duplicates: d("snapshot", "drop_near_duplicates"),
      near_duplicate_jaccard: d("snapshot", "near_duplicate_jaccard"),
      max_per_prompt: d("snapshot", "max_per_prompt"),
      pick: d("snapshot", "pick"),
      preference_pairs: d("snapshot", "preference_pairs"),
    },
    train: {
      enabled: false,
      student: d("train", "student"),
      method: d("train", "method"),
      snapshot_id: d("train", "snapshot_id"),
      override_checks: d("train", "override_checks"),
      max_length: d("train", "max_length"),
      too_long: d("train", "too_long"),
      lora: d("train", "lora"),
      lora_preset: (({ r, alpha, dropout }) => ({ r, alpha, dropout }) as Lora)(defsDefaults(kinds, "train", "LoraSettings")),
      learning_rate: d("train", "learning_rate"),
      lr_scheduler_type: d("train", "lr_scheduler_type"),
      warmup_ratio: d("train", "warmup_ratio"),
      epochs: d("train", "epochs"),
      max_steps: d("train", "max_steps"),
      per_device_batch_size: d("train", "per_device_batch_size"),
      gradient_accumulation: d("train", "gradient_accumulation"),
      seed: d("train", "seed"),
      save_steps: d("train", "save_steps"),
      beta: d("train", "beta", "dpo"),
      num_generations: d("train", "num_generations", "grpo"),
      max_completion_length: d("train", "max_completion_length", "grpo"),
      alpha: d("train", "alpha", "kd"),
      temperature: d("train", "temperature", "kd"),
      teacher_top_k: d("train", "teacher_top_k", "distill"),
      self_test_tolerance: d("train", "self_test_tolerance", "distill"),
    },
    evaluate: {
      enabled: false,
      models: ["base", "student", "teacher"],
      model: { base: "", student: "", teacher: "" },
      backend: "transformers_local",
      max_model_len: null,
      verifiers: null,
      k: d("evaluate", "k"),
      max_tokens: d("evaluate", "max_tokens"),
      max_prompts: d("evaluate", "max_prompts"),
      split: d("evaluate", "split"),
    },
    base: {},
  };
}

/** `make demo`'s recipe (backend/demo_flow.py, the small size, the "verified" arm), on a set and teacher. */
export function demoState(defaults: WizardState, prompt_set_id: number | null, teacher_id: number | null): WizardState {
  return {
    ...defaults,
    name: "demo-verified",
    prompt_set_id,
    teacher_id,
    profile: false,
    rollout: { ...defaults.rollout, n: 4, stop_when_verified: 1, temperature: 1, max_tokens: 160, seed: 0 },
    verifiers: { mode: "all", names: ["math"], settings: {} },
    snapshot: { ...defaults.snapshot, drop_near_duplicates: false, preference_pairs: false },
    train: {
      ...defaults.train,
      enabled: true,
      student: "var/demo/student-base",
      learning_rate: 3e-3,
      warmup_ratio: 0.05,
      max_steps: 40,
      per_device_batch_size: 32,
      seed: 0,
      save_steps: 20,
    },
    evaluate: { ...defaults.evaluate, enabled: true, max_tokens: 160, max_prompts: 20 },
    base: { rollout: { chunk_size: 300 } },
  };
}
