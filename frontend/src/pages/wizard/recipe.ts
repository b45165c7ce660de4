/**
 * The launch wizard's model: a WizardState the form edits, turned into the recipe the API and the CLI take
 * (`distillery runs create --project P --name N recipe.yaml`; backend/runs/schemas.py Recipe). Any sequence
 * of stages the API takes can be built: the pipeline from a rollout, or a train of an existing snapshot
 * (train.snapshot_id) or an evaluation of existing models alone. Loading a recipe (YAML) goes the other way,
 * never adding a stage it did not have; settings the wizard has no field for are kept as they were.
 */
import yaml from "js-yaml";
import type { Schemas } from "../../api/client";
import { isObj } from "./schema";
import type { VerifierPick } from "./VerifierSettings";
import type { TeacherRoute } from "./TeacherRoutes";

export type { StageKind } from "./schema";
export { defaultState, demoState } from "./defaults";

type Recipe = Schemas["Recipe"];

export type Method = "sft" | "dpo" | "grpo" | "distill" | "kd";
export type Lora = { r: number; alpha: number; dropout: number };
export type EvalRole = "base" | "student" | "teacher";
/** How the local models of an evaluation (base, student) generate; a teacher uses its own row's backend. */
export type EvalBackend = "transformers_local" | "vllm";

export interface WizardState {
  name: string;
  prompt_set_id: number | null;
  teacher_id: number | null;
  profile: boolean;
  rollout: {
    /** The teacher writes attempts; off, so are the stages that read them (filter, judge, review, snapshot). */
    enabled: boolean;
    n: number;
    temperature: number;
    top_p: number;
    /** null: auto, left out of the recipe (the teacher's context length where known, else 16384). */
    max_tokens: number | null;
    seed: number | null;
    split: "train" | "eval" | "all";
    /** online: requests as they go; batch: one provider batch per chunk, about half the price, within 24 h. */
    mode: "online" | "batch";
    /** Adaptive sampling: stop a prompt once this many attempts verified; null: always n. */
    stop_when_verified: number | null;
    /** A smoke run first: this many prompts judged by the filter before the rest; null: off. */
    smoke: { prompts: number; min_accept: number } | null;
    system_prompt: string | null;
    /** The teacher's top-K logprobs captured per generated token (the snapshot's teacher_logprobs.parquet, for kd); null: off. */
    logprobs: number | null;
    /** Several teachers routed by prompt (rollout.teachers); empty: every prompt to teacher_id. */
    teachers: TeacherRoute[];
  };
  /** Verifier names (the filter stage runs when there is at least one) and the settings changed from each
   * one's defaults. */
  verifiers: VerifierPick;
  judge: {
    enabled: boolean;
    rubric_version: number | null;
    teacher_id: number | null;
    accept_threshold: number | null;
    target_precision: number;
    overrides_verifiers: boolean;
  };
  review: ReviewState;
  /** The score stage: a vLLM teacher's top-K logprobs over a snapshot's kept traces; `settings` holds what
   * differs from its schema's defaults (snapshot_id, k, batch_size), as SchemaFields edits it. */
  score: { enabled: boolean; settings: Record<string, unknown> };
  snapshot: {
    enabled: boolean;
    include: "accepted" | "all";
    reasoning: "keep" | "drop";
    pass_rate_band: [number, number] | null;
    drop_near_duplicates: boolean;
    near_duplicate_jaccard: number;
    max_per_prompt: number | null;
    pick: "shortest" | "random" | "judge_score";
    preference_pairs: boolean;
  };
  train: {
    enabled: boolean;
    student: string;
    method: Method;
    /** Train this existing snapshot of the project instead of the run's own snapshot stage. */
    snapshot_id: number | null;
    /** Pre-flight checks waived (the schema's waivable ones for the method). */
    override_checks: string[];
    /** null: the snapshot's longest example. */
    max_length: number | null;
    too_long: "exclude" | "refuse";
    lora: Lora | null;
    /** What LoRA starts at when it is switched on (the schema's LoraSettings defaults); not sent. */
    lora_preset: Lora;
    learning_rate: number;
    lr_scheduler_type: "linear" | "cosine" | "constant" | "constant_with_warmup";
    warmup_ratio: number;
    epochs: number;
    max_steps: number | null;
    per_device_batch_size: number;
    gradient_accumulation: number;
    seed: number;
    save_steps: number;
    beta: number;
    num_generations: number;
    max_completion_length: number;
    /** kd: the mix of cross-entropy and KL to the teacher's cached top-K, and the KL's temperature. */
    alpha: number;
    temperature: number;
    /** distill against a served teacher (vllm, or an endpoint): the top-k the loss uses, the self-test's tolerance. */
    teacher_top_k: number;
    self_test_tolerance: number;
  };
  evaluate: {
    enabled: boolean;
    models: EvalRole[];
    /** The model each role answers with where not the run's own (an existing artifact:<id>, a hub id); "" the default. */
    model: Record<EvalRole, string>;
    backend: EvalBackend;
    /** vLLM's context length for the local models (their settings' max_model_len); null: the model's own. */
    max_model_len: number | null;
    /** The evaluation's own verifiers; null: the run's filter verifiers, else what the prompt set holds. */
    verifiers: VerifierPick | null;
    k: number;
    max_tokens: number;
    max_prompts: number | null;
    split: "eval" | "train" | "all";
  };
  /** The recipe this state was loaded from: sections of enabled stages start from it. */
  base: Record<string, unknown>;
}

/** One routing reason's switch and caps (backend/reviews/schemas.py RouteRule). */
export type RouteRule = { route: boolean; max_items: number | null; max_share: number | null };
/** The random audit (AuditRule): its share while the judge is calibrated and before, and its caps. */
export type AuditRule = { share: number; uncalibrated_share: number; max_items: number | null; max_share: number | null };
/** The review settings' routed reasons, most urgent first (backend/reviews/routing.py REASONS, less the audit). */
export const ROUTED = ["disagreement", "judge_unsure", "judge_unparseable", "reference_unparseable", "judge_rejected"] as const;
export type Routed = (typeof ROUTED)[number];
export interface ReviewState {
  enabled: boolean;
  rules: Record<Routed, RouteRule>;
  audit: AuditRule;
  unsure_margin: number;
}

/**
 * Train settings that only some methods take (backend/training/schemas.py: one model per method, and the API
 * refuses another method's field, while the same name may mean another thing in another method: beta). A
 * loaded recipe's are dropped when the method changes; recipe.test.ts checks this list against the schema.
 */
export const METHOD_FIELDS = [
  "packing",
  "beta",
  "num_generations",
  "max_completion_length",
  "alpha",
  "temperature",
  "tail",
  // distill against a served teacher
  "teacher_top_k",
  "self_test_tolerance",
] as const;

const bool = (v: unknown, fallback: boolean): boolean => (typeof v === "boolean" ? v : fallback);

/** Drop null/undefined values so the recipe (and its YAML) holds only what is set. */
function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

function section(base: Record<string, unknown>, key: string, values: Record<string, unknown>): Record<string, unknown> {
  const from = isObj(base[key]) ? (base[key] as Record<string, unknown>) : {};
  return clean({ ...from, ...values });
}

/** The stages the state turns on, in pipeline order. */
export function stagesOf(s: WizardState): string[] {
  const out: string[] = [];
  if (s.profile) out.push("profile");
  const gen = s.rollout.enabled;
  if (gen) out.push("rollout");
  const filter = gen && s.verifiers.names.length > 0;
  if (filter) out.push("filter");
  if (gen && s.judge.enabled) out.push("judge");
  if (gen && s.review.enabled) out.push("review");
  if (filter && s.snapshot.enabled) out.push("snapshot");
  // an existing snapshot (score.snapshot_id) can be scored without a rollout
  if (s.score.enabled) out.push("score");
  if (s.train.enabled) out.push("train");
  if (s.evaluate.enabled) out.push("evaluate");
  return out;
}

/** The recipe the API (POST /runs, /runs/estimate) and the CLI accept; a setting at its default `d` (the
 * stage schemas' defaults, defaultState) is left out, so the YAML holds what this run changes. */
export function buildRecipe(s: WizardState, d: WizardState): Recipe {
  const stages = stagesOf(s);
  const r: Record<string, unknown> = { prompt_set_id: s.prompt_set_id, teacher_id: s.teacher_id, stages };
  const b = s.base;
  const ro = s.rollout;
  if (stages.includes("rollout")) r.rollout = section(b, "rollout", {
    n: ro.n,
    temperature: ro.temperature,
    top_p: ro.top_p === d.rollout.top_p ? undefined : ro.top_p,
    max_tokens: ro.max_tokens,
    seed: ro.seed,
    split: ro.split === d.rollout.split ? undefined : ro.split,
    mode: ro.mode === d.rollout.mode ? undefined : ro.mode,
    stop_when_verified: ro.stop_when_verified,
    smoke: ro.smoke,
    system_prompt: ro.system_prompt || null,
    logprobs: ro.logprobs,
    // empty: left out, unless a loaded recipe had routes (then [] clears them)
    teachers: ro.teachers.length || Array.isArray(obj(b.rollout).teachers) ? ro.teachers : undefined,
  });
  if (stages.includes("filter")) r.filter = section(b, "filter", { verifiers: combo(s.verifiers) });
  if (stages.includes("judge")) {
    const j = s.judge;
    r.judge = section(b, "judge", {
      rubric_version: j.rubric_version,
      teacher_id: j.teacher_id,
      accept_threshold: j.accept_threshold,
      target_precision: j.target_precision,
      overrides_verifiers: j.overrides_verifiers || undefined,
    });
  }
  if (stages.includes("review")) {
    const rv = s.review;
    const changed = (v: RouteRule | AuditRule, dflt: RouteRule | AuditRule) => (JSON.stringify(v) === JSON.stringify(dflt) ? undefined : clean({ ...v }));
    const from = { ...obj(b.review) };
    // a loaded recipe's pre-audit names (read into audit) would shadow nothing but confuse the YAML
    delete from.sample_share;
    delete from.uncalibrated_share;
    r.review = section({ review: from }, "review", {
      ...Object.fromEntries(ROUTED.map((why) => [why, changed(rv.rules[why], d.review.rules[why])])),
      audit: changed(rv.audit, d.review.audit),
      unsure_margin: rv.unsure_margin === d.review.unsure_margin ? undefined : rv.unsure_margin,
    });
  }
  if (stages.includes("snapshot")) {
    const sn = s.snapshot;
    r.snapshot = section(b, "snapshot", {
      include: sn.include === d.snapshot.include ? undefined : sn.include,
      reasoning: sn.reasoning === d.snapshot.reasoning ? undefined : sn.reasoning,
      pass_rate_band: sn.pass_rate_band,
      drop_near_duplicates: sn.drop_near_duplicates,
      near_duplicate_jaccard: sn.drop_near_duplicates && sn.near_duplicate_jaccard !== d.snapshot.near_duplicate_jaccard ? sn.near_duplicate_jaccard : undefined,
      max_per_prompt: sn.max_per_prompt,
      pick: sn.max_per_prompt !== null ? sn.pick : undefined,
      preference_pairs: sn.preference_pairs,
    });
  }
  if (stages.includes("score")) r.score = section(b, "score", s.score.settings);
  if (stages.includes("train")) {
    const t = s.train;
    // a loaded recipe's method settings are its method's: another method would refuse or misread them
    const loaded = obj(b.train);
    const same = (loaded.method ?? "sft") === t.method;
    const from = Object.entries(loaded).filter(([k]) => same || !(METHOD_FIELDS as readonly string[]).includes(k));
    r.train = section({ train: Object.fromEntries(from) }, "train", {
      student: t.student,
      method: t.method,
      snapshot_id: t.snapshot_id,
      override_checks: t.override_checks.length > 0 ? t.override_checks : undefined,
      max_length: t.max_length,
      too_long: t.too_long === d.train.too_long ? undefined : t.too_long,
      lora: t.lora,
      learning_rate: t.learning_rate,
      lr_scheduler_type: t.lr_scheduler_type,
      warmup_ratio: t.warmup_ratio,
      epochs: t.max_steps === null ? t.epochs : undefined,
      max_steps: t.max_steps,
      per_device_batch_size: t.per_device_batch_size,
      gradient_accumulation: t.gradient_accumulation === d.train.gradient_accumulation ? undefined : t.gradient_accumulation,
      seed: t.seed,
      save_steps: t.save_steps,
      // the wizard's fields of the chosen method; grpo's beta (no field here) stays as loaded
      ...(t.method === "dpo" || t.method === "distill" ? { beta: t.beta } : {}),
      ...(t.method === "grpo" ? { num_generations: t.num_generations } : {}),
      ...(t.method === "grpo" || t.method === "distill" ? { max_completion_length: t.max_completion_length } : {}),
      ...(t.method === "kd" ? { alpha: t.alpha, temperature: t.temperature } : {}),
      ...(t.method === "distill"
        ? {
            teacher_top_k: t.teacher_top_k === d.train.teacher_top_k ? undefined : t.teacher_top_k,
            self_test_tolerance: t.self_test_tolerance === d.train.self_test_tolerance ? undefined : t.self_test_tolerance,
          }
        : {}),
    });
  }
  if (stages.includes("evaluate")) {
    const e = s.evaluate;
    r.evaluate = section(b, "evaluate", {
      // models of a role the wizard has no field for (other) pass through as loaded
      models: [...e.models.map((role) => evalModel(b, role, e.backend, e.model[role], e.max_model_len)), ...otherModels(b)],
      verifiers: e.verifiers ? combo(e.verifiers) : undefined,
      k: e.k === 1 ? undefined : e.k,
      max_tokens: e.max_tokens,
      max_prompts: e.max_prompts,
      split: e.split === "eval" ? undefined : e.split,
    });
  }
  // A loaded recipe's sections pass through as they were (the API validates them), so the builder works on
  // plain objects; their shape is the schema's.
  return r as Recipe;
}

/** Verifiers as a recipe's VerifierCombo: each with the settings changed from its defaults. */
function combo(v: VerifierPick): Record<string, unknown> {
  const specs = v.names.map((name) => {
    const settings = v.settings[name];
    return settings && Object.keys(settings).length > 0 ? { name, settings } : { name };
  });
  return { mode: v.mode, verifiers: specs };
}

/** One evaluated model: its role, the model where one is named, the backend for a local one, and whatever the
 * loaded recipe said of it (label, the backend's settings) where its backend is the one chosen (another's
 * settings would not be valid for it). */
function evalModel(base: Record<string, unknown>, role: EvalRole, backend: EvalBackend, model: string, maxModelLen: number | null): Record<string, unknown> {
  const loaded = Array.isArray(obj(base.evaluate).models) ? (obj(base.evaluate).models as unknown[]) : [];
  const was: Record<string, unknown> = { ...obj(loaded.find((m) => isObj(m) && m.role === role)), model: model.trim() || undefined };
  if (role === "teacher") return clean({ role, ...was });
  const kept = (was.backend ?? "transformers_local") === backend ? was : { ...was, settings: undefined };
  const settings = backend === "vllm" ? clean({ ...obj(kept.settings), max_model_len: maxModelLen }) : kept.settings;
  return clean({ role, ...kept, backend: backend === "vllm" ? "vllm" : undefined, settings: isObj(settings) && Object.keys(settings).length > 0 ? settings : undefined });
}

function otherModels(base: Record<string, unknown>): unknown[] {
  const loaded = obj(base.evaluate).models;
  return Array.isArray(loaded) ? loaded.filter((m) => isObj(m) && !["base", "student", "teacher"].includes(String(m.role))) : [];
}

/** A recipe's VerifierCombo (filter.verifiers, evaluate.verifiers) as the wizard's pick. */
function pickOf(v: unknown, d: VerifierPick): VerifierPick {
  const c = obj(v);
  const specs: unknown[] = Array.isArray(c.verifiers) ? c.verifiers : [];
  return {
    mode: oneOf(c.mode, ["all", "any"] as const, d.mode),
    names: specs.map((x) => String(isObj(x) ? x.name : x)),
    settings: Object.fromEntries(specs.flatMap((x) => (isObj(x) && isObj(x.settings) ? [[String(x.name), x.settings]] : []))),
  };
}

export function toYaml(recipe: Record<string, unknown>): string {
  return yaml.dump(recipe, { noRefs: true, lineWidth: 100, sortKeys: false });
}

const num = (v: unknown, d: number): number => (typeof v === "number" && Number.isFinite(v) ? v : d);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const oneOf = <T extends string>(v: unknown, options: readonly T[], d: T): T => (options.includes(v as T) ? (v as T) : d);
const obj = (v: unknown): Record<string, unknown> => (isObj(v) ? v : {});

/** A recipe (parsed YAML or JSON) as wizard state; throws an Error naming what is wrong. */
export function stateFromRecipe(recipe: unknown, defaults: WizardState): WizardState {
  if (!isObj(recipe)) throw new Error("a recipe is a mapping of settings (prompt_set_id, stages, rollout, ...)");
  const stages = Array.isArray(recipe.stages) ? recipe.stages.map(String) : ["profile"];
  const d = defaults;
  const ro = obj(recipe.rollout);
  const j = obj(recipe.judge);
  const rv = obj(recipe.review);
  const sn = obj(recipe.snapshot);
  const t = obj(recipe.train);
  const method = oneOf(t.method, ["sft", "dpo", "grpo", "distill", "kd"] as const, "sft");
  const e = obj(recipe.evaluate);
  const band = Array.isArray(sn.pass_rate_band) && sn.pass_rate_band.length === 2 ? (sn.pass_rate_band.map(Number) as [number, number]) : null;
  const p = d.train.lora_preset;
  const lora = isObj(t.lora) ? { r: num(t.lora.r, p.r), alpha: num(t.lora.alpha, p.alpha), dropout: num(t.lora.dropout, p.dropout) } : null;
  const models = Array.isArray(e.models)
    ? (e.models.map((m) => (isObj(m) ? m.role : m)).filter((r) => r === "base" || r === "student" || r === "teacher") as EvalRole[])
    : d.evaluate.models;
  const local = Array.isArray(e.models) ? e.models.filter((m) => isObj(m) && m.role !== "teacher") : [];
  const backend: EvalBackend = local.some((m) => obj(m).backend === "vllm") ? "vllm" : "transformers_local";
  const served = local.find((m) => obj(m).backend === "vllm");
  const named = (role: EvalRole) => {
    const m = Array.isArray(e.models) ? obj(e.models.find((x) => isObj(x) && x.role === role)).model : undefined;
    return typeof m === "string" ? m : "";
  };
  return {
    name: "",
    prompt_set_id: numOrNull(recipe.prompt_set_id),
    teacher_id: numOrNull(recipe.teacher_id),
    profile: stages.includes("profile"),
    rollout: {
      enabled: stages.includes("rollout"),
      n: num(ro.n, d.rollout.n),
      temperature: num(ro.temperature, d.rollout.temperature),
      top_p: num(ro.top_p, d.rollout.top_p),
      max_tokens: numOrNull(ro.max_tokens),
      seed: numOrNull(ro.seed),
      split: oneOf(ro.split, ["train", "eval", "all"] as const, d.rollout.split),
      mode: oneOf(ro.mode, ["online", "batch"] as const, d.rollout.mode),
      stop_when_verified: numOrNull(ro.stop_when_verified),
      smoke: isObj(ro.smoke) ? { prompts: num(ro.smoke.prompts, 20), min_accept: num(ro.smoke.min_accept, 0.5) } : null,
      system_prompt: typeof ro.system_prompt === "string" ? ro.system_prompt : null,
      logprobs: numOrNull(ro.logprobs),
      teachers: Array.isArray(ro.teachers) ? (ro.teachers.filter(isObj) as TeacherRoute[]) : [],
    },
    verifiers: stages.includes("filter") ? pickOf(obj(recipe.filter).verifiers, d.verifiers) : d.verifiers,
    judge: {
      enabled: stages.includes("judge"),
      rubric_version: numOrNull(j.rubric_version),
      teacher_id: numOrNull(j.teacher_id),
      accept_threshold: numOrNull(j.accept_threshold),
      target_precision: num(j.target_precision, d.judge.target_precision),
      overrides_verifiers: j.overrides_verifiers === true,
    },
    review: reviewState(rv, stages.includes("review"), d.review),
    score: { enabled: stages.includes("score"), settings: { ...obj(recipe.score) } },
    snapshot: {
      enabled: stages.includes("snapshot"),
      include: oneOf(sn.include, ["accepted", "all"] as const, d.snapshot.include),
      reasoning: oneOf(sn.reasoning, ["keep", "drop"] as const, d.snapshot.reasoning),
      pass_rate_band: band,
      drop_near_duplicates: bool(sn.drop_near_duplicates, d.snapshot.drop_near_duplicates),
      near_duplicate_jaccard: num(sn.near_duplicate_jaccard, d.snapshot.near_duplicate_jaccard),
      max_per_prompt: numOrNull(sn.max_per_prompt),
      pick: oneOf(sn.pick, ["shortest", "random", "judge_score"] as const, d.snapshot.pick),
      preference_pairs: bool(sn.preference_pairs, d.snapshot.preference_pairs),
    },
    train: {
      enabled: stages.includes("train"),
      student: typeof t.student === "string" ? t.student : d.train.student,
      method,
      snapshot_id: numOrNull(t.snapshot_id),
      override_checks: Array.isArray(t.override_checks) ? t.override_checks.map(String) : [],
      max_length: numOrNull(t.max_length),
      too_long: oneOf(t.too_long, ["exclude", "refuse"] as const, d.train.too_long),
      lora,
      lora_preset: p,
      learning_rate: num(t.learning_rate, d.train.learning_rate),
      lr_scheduler_type: oneOf(t.lr_scheduler_type, ["linear", "cosine", "constant", "constant_with_warmup"] as const, d.train.lr_scheduler_type),
      warmup_ratio: num(t.warmup_ratio, d.train.warmup_ratio),
      epochs: num(t.epochs, d.train.epochs),
      max_steps: numOrNull(t.max_steps),
      per_device_batch_size: num(t.per_device_batch_size, d.train.per_device_batch_size),
      gradient_accumulation: num(t.gradient_accumulation, d.train.gradient_accumulation),
      seed: num(t.seed, d.train.seed),
      save_steps: num(t.save_steps, d.train.save_steps),
      // grpo's beta is its own KL penalty (no wizard field), not the dpo/distill beta the field edits
      beta: method === "dpo" || method === "distill" ? num(t.beta, d.train.beta) : d.train.beta,
      num_generations: num(t.num_generations, d.train.num_generations),
      max_completion_length: num(t.max_completion_length, d.train.max_completion_length),
      alpha: num(t.alpha, d.train.alpha),
      temperature: num(t.temperature, d.train.temperature),
      teacher_top_k: num(t.teacher_top_k, d.train.teacher_top_k),
      self_test_tolerance: num(t.self_test_tolerance, d.train.self_test_tolerance),
    },
    evaluate: {
      enabled: stages.includes("evaluate"),
      models,
      model: { base: named("base"), student: named("student"), teacher: named("teacher") },
      backend,
      max_model_len: numOrNull(obj(obj(served).settings).max_model_len),
      verifiers: isObj(e.verifiers) ? pickOf(e.verifiers, d.verifiers) : null,
      k: num(e.k, d.evaluate.k),
      max_tokens: num(e.max_tokens, d.evaluate.max_tokens),
      max_prompts: numOrNull(e.max_prompts),
      split: oneOf(e.split, ["eval", "train", "all"] as const, d.evaluate.split),
    },
    base: recipe,
  };
}

/** A recipe's review section as wizard state; recipes from before the audit name its shares at the top. */
function reviewState(rv: Record<string, unknown>, enabled: boolean, d: ReviewState): ReviewState {
  const rule = (v: unknown, dflt: RouteRule): RouteRule => {
    const o = obj(v);
    return { route: bool(o.route, dflt.route), max_items: "max_items" in o ? numOrNull(o.max_items) : dflt.max_items, max_share: "max_share" in o ? numOrNull(o.max_share) : dflt.max_share };
  };
  const a = obj(rv.audit);
  return {
    enabled,
    rules: Object.fromEntries(ROUTED.map((why) => [why, rule(rv[why], d.rules[why])])) as Record<Routed, RouteRule>,
    audit: {
      share: num(a.share, num(rv.sample_share, d.audit.share)),
      uncalibrated_share: num(a.uncalibrated_share, num(rv.uncalibrated_share, d.audit.uncalibrated_share)),
      max_items: "max_items" in a ? numOrNull(a.max_items) : d.audit.max_items,
      max_share: "max_share" in a ? numOrNull(a.max_share) : d.audit.max_share,
    },
    unsure_margin: num(rv.unsure_margin, d.unsure_margin),
  };
}

export function parseRecipeYaml(text: string, defaults: WizardState): WizardState {
  let data: unknown;
  try {
    data = yaml.load(text);
  } catch (err) {
    throw new Error(`not valid YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
  return stateFromRecipe(data, defaults);
}

export { recipePath, stepOfPath, STEPS, type StepId } from "./steps";
