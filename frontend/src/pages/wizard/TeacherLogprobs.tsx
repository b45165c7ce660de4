/**
 * The wizard's fields for the teacher's token distributions (issue 26): the rollout's captured top-K logprobs
 * (rollout.logprobs), the score stage (a vLLM teacher's top-K over a snapshot's kept traces) and on-policy
 * distillation's served teacher (which teacher scores the student's samples, and where it runs; its top-k and
 * self-test tolerance). Each field is drawn from its stage's settings JSON Schema (SchemaFields), so bounds,
 * defaults and help are the API's own.
 */
import type { Schemas } from "../../api/client";
import { Check, FieldError } from "./Fields";
import type { WizardState } from "./recipe";
import { SchemaFields } from "./SchemaFields";
import { isObj, schemaProps, type StageKind } from "./schema";
import type { StepProps } from "./StageSteps";

type Teacher = Schemas["TeacherOut"];

/** The model of `stage`'s settings (a union's `variant`) as a schema SchemaFields draws. */
function settingsSchema(kinds: StageKind[], stage: string, variant?: string): Record<string, unknown> {
  const props = schemaProps(kinds.find((k) => k.name === stage)?.settings_schema, variant);
  return { properties: isObj(props) ? props : {} };
}

/** Only the keys of `values` that differ from the schema's defaults: what SchemaFields takes as its value. */
function changed(schema: Record<string, unknown>, values: Record<string, unknown>): Record<string, unknown> {
  const props = isObj(schema.properties) ? schema.properties : {};
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => !(isObj(props[k]) && JSON.stringify(props[k].default) === JSON.stringify(v))));
}

/** A property's default in a schema SchemaFields draws (what SchemaFields leaves out of its value). */
function defaultOf(schema: Record<string, unknown>, key: string): unknown {
  const props = isObj(schema.properties) ? schema.properties : {};
  return isObj(props[key]) ? props[key].default : undefined;
}

/** rollout.logprobs: K alternatives a generated token, captured once for kd students to reuse. */
export function RolloutLogprobs({ state, update, kinds }: StepProps & { kinds: StageKind[] }) {
  const r = state.rollout;
  const schema = settingsSchema(kinds, "rollout");
  return (
    <div data-testid="rollout-logprobs">
      <SchemaFields
        schema={schema}
        only={["logprobs"]}
        labels={{ logprobs: "Teacher top-K logprobs per token (for kd)" }}
        value={changed(schema, { logprobs: r.logprobs })}
        onChange={(v) => update({ rollout: { ...r, logprobs: typeof v.logprobs === "number" ? v.logprobs : null } })}
        base="rollout"
        describe
      />
    </div>
  );
}

/** The score stage: which snapshot (the run's own by default), K and the batch, and the vLLM teacher it needs. */
export function ScoreStage({ state, update, kinds, teacher }: StepProps & { kinds: StageKind[]; teacher: Teacher | undefined }) {
  const sc = state.score;
  const set = (patch: Partial<WizardState["score"]>) => update({ score: { ...sc, ...patch } });
  const notVllm = teacher !== undefined && teacher.backend !== "vllm";
  return (
    <div data-testid="score-stage">
      <h3>Teacher logprobs of the snapshot</h3>
      <Check
        label="Score the snapshot's traces with the teacher's top-K logprobs (score stage)"
        help="(the snapshot's teacher_logprobs.parquet, which kd students train on; a vLLM teacher scores the kept traces)"
        checked={sc.enabled}
        onChange={(enabled) => set({ enabled })}
        testId="field-score"
      />
      {sc.enabled && (
        <>
          {notVllm && (
            <p className="licence licence-warn" data-testid="score-needs-vllm">
              Only a vLLM teacher answers prompt logprobs over given tokens; {teacher.name} is {teacher.backend}. Choose a vllm teacher in Data and
              teacher.
            </p>
          )}
          <SchemaFields
            schema={settingsSchema(kinds, "score")}
            labels={{ snapshot_id: "Snapshot (id; empty: the run's own)", k: "Top-K per token", batch_size: "Traces per request" }}
            value={sc.settings}
            onChange={(settings) => set({ settings })}
            base="score"
            describe
          />
          <FieldError path="score" />
        </>
      )}
    </div>
  );
}

/** Where a distill run's teacher runs, in words (workers/training/distill.py decides the same way). */
export function placement(t: Teacher): { served: boolean; text: string } {
  if (t.backend === "transformers_local" && !t.base_url) {
    return { served: false, text: "loaded in the training worker (TRL's DistillationTrainer, the teacher's full distribution)" };
  }
  if (t.backend === "vllm" && !t.base_url) return { served: true, text: `served by a vLLM server the worker starts from ${t.model}` };
  return { served: true, text: `asked at ${t.base_url}: it must be a vLLM server (prompt logprobs and /tokenize)` };
}

/** distill: the teacher that scores the student's samples (the run's teacher) and, when it is served, the top-k
 * the loss uses and the self-test's tolerance. */
export function ServedTeacher({ state, update, kinds, teachers }: StepProps & { kinds: StageKind[]; teachers: Teacher[] }) {
  const t = state.train;
  const teacher = teachers.find((x) => x.id === state.teacher_id);
  const where = teacher ? placement(teacher) : null;
  const schema = settingsSchema(kinds, "train", "distill");
  return (
    <div className="wide" data-testid="served-teacher">
      <label>
        Teacher endpoint (the run's teacher scores the student's samples)
        <select
          value={state.teacher_id ?? ""}
          onChange={(e) => update({ teacher_id: e.target.value ? Number(e.target.value) : null })}
          data-testid="field-distill-teacher"
        >
          <option value="">Choose a teacher</option>
          {teachers.map((x) => (
            <option key={x.id} value={x.id}>
              {x.name} ({x.backend}: {x.base_url ?? x.model})
            </option>
          ))}
        </select>
        <FieldError path="teacher_id" />
      </label>
      {where && (
        <p className="muted small" data-testid="served-teacher-placement" data-served={where.served}>
          {teacher?.name} is {where.text}
          {where.served
            ? "; before training the worker checks that it shares the student's vocabulary and scores the same text twice alike."
            : "; the settings below are for a served teacher and are not used."}
        </p>
      )}
      <SchemaFields
        schema={schema}
        only={["teacher_top_k", "self_test_tolerance"]}
        labels={{ teacher_top_k: "Teacher top-k per token (served)", self_test_tolerance: "Self-test tolerance (served)" }}
        value={changed(schema, { teacher_top_k: t.teacher_top_k, self_test_tolerance: t.self_test_tolerance })}
        onChange={(v) => {
          const num = (k: string) => (typeof v[k] === "number" ? v[k] : defaultOf(schema, k)) as number;
          update({ train: { ...t, teacher_top_k: num("teacher_top_k"), self_test_tolerance: num("self_test_tolerance") } });
        }}
        base="train"
        describe
      />
    </div>
  );
}
