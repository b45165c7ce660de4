import type { Schemas } from "../../api/client";
import { Check, FieldError, NumField, SelectField, TextField } from "./Fields";
import type { EvalRole, WizardState } from "./recipe";
import { ChoiceList } from "./SchemaFields";
import type { StageKind } from "./schema";
import { ServedTeacher } from "./TeacherLogprobs";
import { VerifierChoice } from "./VerifierSettings";

export type StepProps = { state: WizardState; update: (patch: Partial<WizardState>) => void };

const METHODS = [
  ["sft", "SFT on the accepted traces"],
  ["dpo", "DPO on the snapshot's chosen/rejected pairs"],
  ["grpo", "GRPO with the verifiers as rewards"],
  ["distill", "on-policy distillation from the teacher"],
  ["kd", "KD: the accepted traces with the teacher's cached top-K logprobs"],
] as const;

/** The student, its data (the run's snapshot or an existing one), the method, the optimiser, the pre-flight
 * checks to waive (`waivable`: the schema's choices for the method) and LoRA. */
export function TrainingStep({
  state,
  update,
  waivable,
  kinds,
  teachers,
}: StepProps & { waivable: string[]; kinds: StageKind[]; teachers: Schemas["TeacherOut"][] }) {
  const t = state.train;
  const set = (patch: Partial<WizardState["train"]>) => update({ train: { ...t, ...patch } });
  const lora = t.lora;
  const ownSnapshot = state.rollout.enabled && state.verifiers.names.length > 0 && state.snapshot.enabled;
  return (
    <>
      <Check label="Train a student" checked={t.enabled} onChange={(enabled) => set({ enabled })} testId="field-train" />
      {t.enabled && (
        <>
          {t.method !== "grpo" && t.method !== "distill" && t.snapshot_id === null && !ownSnapshot && (
            <p className="licence licence-warn" data-testid="train-needs-data">
              SFT, DPO and KD train on a snapshot: turn the run's snapshot on (Selection), or name an existing snapshot below.
            </p>
          )}
          <div className="form-grid">
            <TextField label="Student (hub id, artifact:<id> or an allowed local path)" path="train.student" value={t.student} onChange={(student) => set({ student })} />
            <SelectField label="Method" path="train.method" value={t.method} options={METHODS} onChange={(method) => set({ method, override_checks: [] })} />
            <NumField
              label="Existing snapshot (id)"
              path="train.snapshot_id"
              value={t.snapshot_id}
              nullable
              min={1}
              step={1}
              placeholder="the run's own snapshot"
              help="train a snapshot this project already has, instead of one this run writes"
              onChange={(snapshot_id) => set({ snapshot_id })}
            />
            <NumField label="Learning rate" path="train.learning_rate" value={t.learning_rate} min={0} max={0.01} onChange={(v) => set({ learning_rate: v ?? 0 })} />
            <SelectField
              label="Schedule"
              path="train.lr_scheduler_type"
              value={t.lr_scheduler_type}
              options={["cosine", "linear", "constant", "constant_with_warmup"] as const}
              onChange={(lr_scheduler_type) => set({ lr_scheduler_type })}
            />
            <NumField label="Warmup share" path="train.warmup_ratio" value={t.warmup_ratio} min={0} max={0.5} step={0.01} onChange={(v) => set({ warmup_ratio: v ?? 0 })} />
            <NumField label="Max steps" path="train.max_steps" value={t.max_steps} nullable min={1} step={1} placeholder="by epochs" onChange={(max_steps) => set({ max_steps })} />
            {t.max_steps === null && <NumField label="Epochs" path="train.epochs" value={t.epochs} min={0} max={100} step={0.5} onChange={(v) => set({ epochs: v ?? 1 })} />}
            <NumField label="Batch size per device" path="train.per_device_batch_size" value={t.per_device_batch_size} min={1} step={1} onChange={(v) => set({ per_device_batch_size: v ?? 1 })} />
            <NumField label="Gradient accumulation" path="train.gradient_accumulation" value={t.gradient_accumulation} min={1} step={1} onChange={(v) => set({ gradient_accumulation: v ?? 1 })} />
            <NumField
              label="Longest sequence (tokens)"
              path="train.max_length"
              value={t.max_length}
              nullable
              min={16}
              step={1}
              placeholder="the snapshot's longest"
              onChange={(max_length) => set({ max_length })}
            />
            <SelectField
              label="Examples over it"
              path="train.too_long"
              value={t.too_long}
              options={[["exclude", "dropped and counted"], ["refuse", "refuse to train"]] as const}
              onChange={(too_long) => set({ too_long })}
            />
            <NumField label="Seed" path="train.seed" value={t.seed} min={0} step={1} onChange={(v) => set({ seed: v ?? 0 })} />
            <NumField label="Checkpoint every N steps" path="train.save_steps" value={t.save_steps} min={1} step={1} onChange={(v) => set({ save_steps: v ?? 1 })} />
            {(t.method === "dpo" || t.method === "distill") && (
              <NumField label={t.method === "dpo" ? "beta (KL strength)" : "beta (0 forward KL … 1 reverse KL)"} path="train.beta" value={t.beta} min={0} max={t.method === "distill" ? 1 : 10} step={0.05} onChange={(v) => set({ beta: v ?? 0 })} />
            )}
            {t.method === "kd" && (
              <>
                <NumField label="alpha (0 cross-entropy … 1 KL to the teacher)" path="train.alpha" value={t.alpha} min={0} max={1} step={0.05} onChange={(v) => set({ alpha: v ?? 0 })} />
                <NumField label="Temperature" path="train.temperature" value={t.temperature} min={0.05} max={20} step={0.1} onChange={(v) => set({ temperature: v ?? 1 })} />
              </>
            )}
            {t.method === "grpo" && (
              <NumField label="Completions per prompt" path="train.num_generations" value={t.num_generations} min={2} step={1} onChange={(v) => set({ num_generations: v ?? 2 })} />
            )}
            {(t.method === "grpo" || t.method === "distill") && (
              <NumField label="Longest completion (tokens)" path="train.max_completion_length" value={t.max_completion_length} min={1} step={1} onChange={(v) => set({ max_completion_length: v ?? 1 })} />
            )}
          </div>
          {t.method === "distill" && <ServedTeacher state={state} update={update} kinds={kinds} teachers={teachers} />}
          <ChoiceList
            label="Waive pre-flight checks"
            help="each waiver is recorded in the run's summary; too_long is decided by the setting above, never waived"
            path="train.override_checks"
            options={waivable}
            value={t.override_checks}
            onChange={(override_checks) => set({ override_checks })}
          />
          <Check label="LoRA" help="(otherwise a full fine-tune)" checked={lora !== null} onChange={(on) => set({ lora: on ? t.lora_preset : null })} testId="field-lora" />
          {lora && (
            <div className="form-grid">
              <NumField label="Rank r" path="train.lora.r" value={lora.r} min={1} step={1} onChange={(r) => set({ lora: { ...lora, r: r ?? 1 } })} />
              <NumField label="Alpha" path="train.lora.alpha" value={lora.alpha} min={1} step={1} onChange={(alpha) => set({ lora: { ...lora, alpha: alpha ?? 1 } })} />
              <NumField label="Dropout" path="train.lora.dropout" value={lora.dropout} min={0} step={0.01} onChange={(dropout) => set({ lora: { ...lora, dropout: dropout ?? 0 } })} />
            </div>
          )}
          <FieldError path="train" />
        </>
      )}
    </>
  );
}

const MODEL_HELP: Record<EvalRole, string> = {
  base: "empty: the train stage's student before training",
  student: "empty: the model this run trains",
  teacher: "empty: the run's teacher",
};

/** Who answers the held-out prompts (each role's model, the run's own or an existing one), how, and which
 * verifiers score them (the run's filter's unless chosen here). */
export function EvaluationStep({ state, update, verifierKinds }: StepProps & { verifierKinds: Schemas["VerifierKindOut"][] }) {
  const e = state.evaluate;
  const set = (patch: Partial<WizardState["evaluate"]>) => update({ evaluate: { ...e, ...patch } });
  const toggle = (role: EvalRole, on: boolean) => set({ models: on ? [...e.models, role] : e.models.filter((m) => m !== role) });
  return (
    <>
      <Check label="Evaluate on held-out prompts" checked={e.enabled} onChange={(enabled) => set({ enabled })} testId="field-evaluate" />
      {e.enabled && (
        <>
          <div className="verifier-list">
            {(["base", "student", "teacher"] as const).map((role) => (
              <Check key={role} label={role} checked={e.models.includes(role)} onChange={(on) => toggle(role, on)} testId={`eval-${role}`} />
            ))}
          </div>
          <FieldError path="evaluate.models" />
          <div className="form-grid">
            {e.models.map((role) => (
              <TextField
                key={role}
                label={`${role} model (artifact:<id>, hub id or an allowed path)`}
                path={`evaluate.models.${e.models.indexOf(role)}.model`}
                value={e.model[role]}
                placeholder={MODEL_HELP[role]}
                onChange={(m) => set({ model: { ...e.model, [role]: m } })}
              />
            ))}
            <SelectField
              label="Local models (base, student) run on"
              path="evaluate.backend"
              value={e.backend}
              options={[["transformers_local", "transformers (in the worker)"], ["vllm", "vLLM (a server the worker starts)"]] as const}
              onChange={(backend) => set({ backend })}
              help="the teacher answers through its own backend"
            />
            {e.backend === "vllm" && (
              <NumField
                label="Context length (vLLM max_model_len)"
                path="evaluate.max_model_len"
                value={e.max_model_len}
                nullable
                min={1}
                step={1}
                placeholder="the model's own"
                help="prompt and answer together; vLLM refuses a prompt longer than it"
                onChange={(max_model_len) => set({ max_model_len })}
              />
            )}
            <SelectField label="Split" path="evaluate.split" value={e.split} options={["eval", "train", "all"] as const} onChange={(split) => set({ split })} />
            <NumField label="Samples per prompt (k; 1 is greedy)" path="evaluate.k" value={e.k} min={1} max={64} step={1} onChange={(k) => set({ k: k ?? 1 })} />
            <NumField label="Max tokens per answer" path="evaluate.max_tokens" value={e.max_tokens} min={1} step={1} onChange={(v) => set({ max_tokens: v ?? 1 })} />
            <NumField label="First N prompts only" path="evaluate.max_prompts" value={e.max_prompts} nullable min={1} step={1} placeholder="all" onChange={(max_prompts) => set({ max_prompts })} />
          </div>
          <Check
            label="Score with verifiers of its own"
            help="(otherwise the run's filter verifiers, else what the prompt set holds: tests, code; references, math)"
            checked={e.verifiers !== null}
            onChange={(on) => set({ verifiers: on ? { mode: "all", names: state.verifiers.names, settings: state.verifiers.settings } : null })}
            testId="field-evaluate.verifiers"
          />
          {e.verifiers && <VerifierChoice kinds={verifierKinds} value={e.verifiers} onChange={(verifiers) => set({ verifiers })} stage="evaluate" prefix="eval-" />}
          <FieldError path="evaluate" />
        </>
      )}
    </>
  );
}
