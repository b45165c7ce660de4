import { useEffect, useMemo, useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { ApiError, errorMessage } from "../../api/errors";
import { formatNumber } from "../../lib/format";
import { atLeast } from "../../lib/roles";
import { usePromptSets, useProject } from "../prompt-sets/PromptSetsPage";
import { Check, ErrorsContext, FieldError, NumField, SelectField, TextField } from "./Fields";
import { VerifierChoice } from "./VerifierSettings";
import { ReviewLoadView, ReviewRouting } from "./ReviewRouting";
import { EvaluationStep, TrainingStep, type StepProps } from "./StageSteps";
import { choicesOf, type StageKind } from "./schema";
import { RolloutLogprobs, ScoreStage } from "./TeacherLogprobs";
import { suggestVerifiers, type VerifierSuggestion } from "./suggest";
import { estimateQuery, keys, rubricsQuery, stageKindsQuery, teachersQuery, verifierKindsQuery } from "../../api/queries";
import {
  buildRecipe,
  defaultState,
  demoState,
  parseRecipeYaml,
  recipePath,
  stagesOf,
  stepOfPath,
  STEPS,
  toYaml,
  type StepId,
  type WizardState,
} from "./recipe";
import { SECONDS_SOURCE } from "../../lib/estimate";
import "./wizard.css";
import { PressureTest } from "../experiments/PressureTest";
import { TeacherRoutes } from "./TeacherRoutes";

type Teacher = Schemas["TeacherOut"];

const LICENCE_TEXT: Record<string, string> = {
  open_weights: "open weights: check the model's own licence before publishing a student",
  api_no_compete: "served under API terms that forbid using its outputs to train competing models",
  other: "other terms: check them before training a student on its outputs",
};

/** Errors of a failed estimate or launch, keyed by recipe path; recipe-wide ones under "". */
function errorMap(err: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (err instanceof ApiError) {
    for (const f of err.fields) {
      const p = recipePath(f.path);
      if (!m.has(p)) m.set(p, f.message);
    }
  }
  return m;
}

/** The launch wizard: the whole recipe step by step, its estimate and licence warning, the YAML the CLI takes.
 * It starts from the stage kinds' defaults (their settings' JSON Schemas), so it waits for them. */
export function WizardPage({ projectId }: { projectId: number }) {
  const kinds = useQuery(stageKindsQuery(projectId));
  const defaults = useMemo(() => {
    if (!kinds.data) return null;
    try {
      return defaultState(kinds.data);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }, [kinds.data]);
  if (kinds.isError || defaults instanceof Error) {
    return (
      <p className="error" role="alert" data-testid="wizard-error">
        {errorMessage(kinds.error ?? defaults)}
      </p>
    );
  }
  if (!defaults) return <p className="muted">Loading the stages' settings…</p>;
  return <Wizard projectId={projectId} defaults={defaults} kinds={kinds.data ?? []} />;
}

function Wizard({ projectId, defaults, kinds }: { projectId: number; defaults: WizardState; kinds: StageKind[] }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const project = useProject(projectId);
  const sets = usePromptSets(projectId);
  const teachers = useQuery(teachersQuery(projectId));
  const verifierKinds = useQuery(verifierKindsQuery(projectId));
  const rubrics = useQuery(rubricsQuery(projectId));

  const [state, setState] = useState<WizardState>(defaults);
  const [step, setStep] = useState<StepId>("data");
  const [acknowledged, setAcknowledged] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  // Once someone picks verifiers (or loads a recipe), choosing another prompt set no longer replaces them.
  const [verifiersChosen, setVerifiersChosen] = useState(false);
  const recipe = useMemo(() => buildRecipe(state, defaults), [state, defaults]);
  const yamlText = useMemo(() => toYaml(recipe), [recipe]);
  const teacher = teachers.data?.find((t) => t.id === state.teacher_id);
  const readySets = (sets.data ?? []).filter((s) => s.status === "ready");
  const suggestion = suggestVerifiers(readySets.find((s) => s.id === state.prompt_set_id));
  const choosePromptSet = (id: number | null) => {
    const next = suggestVerifiers(readySets.find((s) => s.id === id));
    const names = next?.names && !verifiersChosen ? next.names : null;
    update({ prompt_set_id: id, ...(names ? { verifiers: { ...state.verifiers, names } } : {}) });
  };
  const stages = stagesOf(state);
  // the teacher is asked for only where a stage needs it (the registry's needs_teacher; distill's logits)
  const needsTeacher =
    stages.some((k) => kinds.find((x) => x.name === k)?.needs_teacher) || (state.train.enabled && state.train.method === "distill");
  const ready = state.prompt_set_id !== null && (state.teacher_id !== null || !needsTeacher);
  const rollout = stages.includes("rollout");

  const estimate = useQuery({ ...estimateQuery(projectId, recipe), enabled: step === "launch" && ready && rollout });
  const launch = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/runs", {
          params: { path: { project_id: projectId } },
          body: { name: state.name.trim() || `run-${new Date().toISOString().slice(0, 16)}`, recipe: recipe },
        }),
      ),
    onSuccess: (run) => {
      void queryClient.invalidateQueries({ queryKey: keys.runs(projectId) });
      void navigate({ to: "/projects/$projectId/runs/$runId", params: { projectId, runId: run.id } });
    },
    onError: (err) => {
      const paths = [...errorMap(err).keys()];
      if (paths.length > 0) setStep(stepOfPath(paths[0]));
    },
  });

  // The launch's errors win; else the estimate's (it validates the same recipe).
  const errors = launch.isError ? errorMap(launch.error) : estimate.isError ? errorMap(estimate.error) : new Map<string, string>();
  const stepErrors = (id: StepId) => [...errors.keys()].filter((p) => stepOfPath(p) === id).length;
  const update = (patch: Partial<WizardState>) => {
    setState((s) => ({ ...s, ...patch }));
    if (launch.isError) launch.reset();
  };
  const needsAck = teacher?.licence === "api_no_compete" && state.train.enabled;

  const loadYaml = (text: string) => {
    try {
      const next = parseRecipeYaml(text, defaults);
      setState({ ...next, name: state.name });
      setVerifiersChosen(true);
      setLoadError(null);
      launch.reset();
    } catch (err) {
      setLoadError(errorMessage(err));
    }
  };

  if (project.data && !atLeast(project.data.role, "maintainer")) {
    return (
      <p className="muted" data-testid="wizard-forbidden">
        Launching runs needs the maintainer role in this project; you are {project.data.role ?? "not a member"}.
      </p>
    );
  }

  const i = STEPS.findIndex((s) => s.id === step);
  return (
    <ErrorsContext.Provider value={errors}>
      <div className="page-head">
        <h1>New run</h1>
        <div className="card-actions">
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setState({ ...demoState(defaults, readySets[0]?.id ?? null, teachers.data?.[0]?.id ?? null), name: state.name || "demo-verified" });
              setVerifiersChosen(true);
              launch.reset();
            }}
            data-testid="wizard-demo"
            title="make demo's recipe: rollout, math filter, snapshot, SFT, evaluation"
          >
            Demo recipe
          </button>
          <label className="button secondary file-button">
            Load recipe YAML
            <input
              type="file"
              accept=".yaml,.yml,.json"
              onChange={(e) => {
                const f = e.target.files?.[0];
                if (f) readText(f).then(loadYaml, (err: unknown) => setLoadError(errorMessage(err)));
                e.target.value = "";
              }}
              data-testid="wizard-load"
            />
          </label>
        </div>
      </div>
      {loadError && (
        <p className="error" role="alert" data-testid="wizard-load-error">
          {loadError}
        </p>
      )}
      <div className="wizard">
        <ol className="wizard-steps" aria-label="Steps">
          {STEPS.map((s, n) => (
            <li key={s.id}>
              <button
                type="button"
                className={`wizard-step${s.id === step ? " active" : ""}`}
                aria-current={s.id === step ? "step" : undefined}
                onClick={() => setStep(s.id)}
                data-testid={`step-${s.id}`}
              >
                <span className="wizard-step-n">{n + 1}</span> {s.title}
                {stepErrors(s.id) > 0 && <span className="badge badge-failed">{stepErrors(s.id)}</span>}
              </button>
            </li>
          ))}
        </ol>
        <section className="card wizard-body" data-testid={`wizard-step-${step}`}>
          <h2>{STEPS[i].title}</h2>
          {step === "data" && (
            <DataStep
              state={state}
              update={update}
              choosePromptSet={choosePromptSet}
              suggestion={suggestion}
              sets={readySets}
              teachers={teachers.data ?? []}
              loading={sets.isPending || teachers.isPending}
              projectId={projectId}
              needsTeacher={needsTeacher}
            />
          )}
          {step !== "data" && step !== "training" && step !== "evaluation" && step !== "launch" && !state.rollout.enabled ? (
            <p className="muted" data-testid="no-rollout">
              This run makes no attempts (no rollout): sampling, verifiers, judge, review and the run's own snapshot are off. Turn the rollout on in
              Data and teacher.
            </p>
          ) : (
            step === "sampling" && (
              <>
                <SamplingStep state={state} update={update} teachers={teachers.data ?? []} />
                <RolloutLogprobs state={state} update={update} kinds={kinds} />
              </>
            )
          )}
          {step === "verify" && state.rollout.enabled && (
            <VerifyStep
              state={state}
              update={(patch) => {
                if ("verifiers" in patch) setVerifiersChosen(true);
                update(patch);
              }}
              suggestion={suggestion}
              kinds={verifierKinds.data ?? []}
              rubrics={rubrics.data ?? []}
              teachers={teachers.data ?? []}
            />
          )}
          {step === "selection" && state.rollout.enabled && <SelectionStep state={state} update={update} />}
          {step === "selection" && <ScoreStage state={state} update={update} kinds={kinds} teacher={teacher} />}
          {step === "training" && (
            <TrainingStep
              state={state}
              update={update}
              waivable={choicesOf(kinds, "train", "override_checks", state.train.method)}
              kinds={kinds}
              teachers={teachers.data ?? []}
            />
          )}
          {step === "evaluation" && <EvaluationStep state={state} update={update} verifierKinds={verifierKinds.data ?? []} />}
          {step === "launch" && (
            <LaunchStep
              state={state}
              yamlText={yamlText}
              teacher={teacher}
              ready={ready}
              rollout={rollout}
              estimate={estimate}
              errors={errors}
              goTo={setStep}
              needsAck={needsAck}
              acknowledged={acknowledged}
              setAcknowledged={setAcknowledged}
            />
          )}
          {(launch.isError || (step === "launch" && estimate.isError)) && (
            <ErrorSummary error={launch.isError ? launch.error : estimate.error} errors={errors} goTo={setStep} />
          )}
          <div className="wizard-nav">
            <button type="button" className="secondary" disabled={i === 0} onClick={() => setStep(STEPS[i - 1].id)} data-testid="wizard-back">
              Back
            </button>
            {step !== "launch" ? (
              <button type="button" onClick={() => setStep(STEPS[i + 1].id)} data-testid="wizard-next">
                Next: {STEPS[i + 1].title}
              </button>
            ) : (
              <button
                type="button"
                disabled={!ready || launch.isPending || (needsAck && !acknowledged)}
                onClick={() => launch.mutate()}
                data-testid="wizard-launch"
              >
                {launch.isPending ? "Launching…" : "Launch run"}
              </button>
            )}
          </div>
        </section>
      </div>
    </ErrorsContext.Provider>
  );
}


/** What the chosen set holds and the verifiers that fit it (suggest.ts). */
function SuggestionNote({ suggestion }: { suggestion: VerifierSuggestion | null }) {
  if (!suggestion) return null;
  return (
    <p className={`licence${suggestion.kind === "neither" || suggestion.kind === "unknown" ? " licence-warn" : ""}`} data-testid="verifier-suggestion" data-kind={suggestion.kind}>
      <strong>Verifiers:</strong> {suggestion.note}
    </p>
  );
}

function DataStep({
  state,
  update,
  choosePromptSet,
  suggestion,
  sets,
  teachers,
  loading,
  projectId,
  needsTeacher,
}: StepProps & {
  choosePromptSet: (id: number | null) => void;
  suggestion: VerifierSuggestion | null;
  sets: Schemas["PromptSetOut"][];
  teachers: Teacher[];
  loading: boolean;
  projectId: number;
  needsTeacher: boolean;
}) {
  const teacher = teachers.find((t) => t.id === state.teacher_id);
  return (
    <>
      <div className="form-grid">
        <TextField label="Run name" path="name" value={state.name} onChange={(name) => update({ name })} placeholder="e.g. gsm8k-r1-sft" />
        <label>
          Prompt set
          <select
            value={state.prompt_set_id ?? ""}
            onChange={(e) => choosePromptSet(e.target.value ? Number(e.target.value) : null)}
            data-testid="field-prompt_set_id"
          >
            <option value="">{loading ? "Loading…" : sets.length ? "Choose a prompt set" : "No prompt set yet"}</option>
            {sets.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} v{s.version} ({formatNumber(s.prompt_count)} prompts)
              </option>
            ))}
          </select>
          <FieldError path="prompt_set_id" />
        </label>
        <label>
          {needsTeacher ? "Teacher" : "Teacher (optional: no stage needs one)"}
          <select
            value={state.teacher_id ?? ""}
            onChange={(e) => update({ teacher_id: e.target.value ? Number(e.target.value) : null })}
            data-testid="field-teacher_id"
          >
            <option value="">{loading ? "Loading…" : teachers.length ? "Choose a teacher" : "No teacher yet"}</option>
            {teachers.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.backend}: {t.model})
              </option>
            ))}
          </select>
          <FieldError path="teacher_id" />
        </label>
      </div>
      {sets.length === 0 && !loading && (
        <p className="muted small">
          <Link to="/projects/$projectId/prompt-sets" params={{ projectId }}>
            Upload a prompt set
          </Link>{" "}
          first.
        </p>
      )}
      <SuggestionNote suggestion={suggestion} />
      {teacher && <LicenceNote teacher={teacher} />}
      <PressureTest projectId={projectId} promptSetId={state.prompt_set_id} teacherId={state.teacher_id} student={state.train.student} />
      <Check
        label="The teacher writes attempts (rollout)"
        help="(off: train an existing snapshot or evaluate existing models only; no filter, judge, review or snapshot then)"
        checked={state.rollout.enabled}
        onChange={(enabled) => update({ rollout: { ...state.rollout, enabled } })}
        testId="field-rollout"
      />
      <Check
        label="Profile the prompts first"
        help="(count and length percentiles on the run page)"
        checked={state.profile}
        onChange={(profile) => update({ profile })}
        testId="field-profile"
      />
    </>
  );
}

function LicenceNote({ teacher }: { teacher: Teacher }) {
  const warn = teacher.licence !== "open_weights";
  return (
    <p className={warn ? "licence licence-warn" : "licence"} data-testid="licence-note" data-licence={teacher.licence}>
      <strong>Licence:</strong> {teacher.name} is {LICENCE_TEXT[teacher.licence] ?? teacher.licence}.
    </p>
  );
}

function SamplingStep({ state, update, teachers }: StepProps & { teachers: Teacher[] }) {
  const r = state.rollout;
  const set = (patch: Partial<WizardState["rollout"]>) => update({ rollout: { ...r, ...patch } });
  const adaptive = r.stop_when_verified !== null;
  const smoke = r.smoke;
  return (
    <>
      <div className="form-grid">
        <NumField label="Attempts per prompt (n)" path="rollout.n" value={r.n} min={1} max={64} step={1} onChange={(n) => set({ n: n ?? 1 })} />
        <NumField label="Temperature" path="rollout.temperature" value={r.temperature} min={0} max={2} step={0.05} onChange={(v) => set({ temperature: v ?? 0 })} />
        <NumField label="top_p" path="rollout.top_p" value={r.top_p} min={0} max={1} step={0.05} onChange={(v) => set({ top_p: v ?? 1 })} />
        <NumField
          label="Max tokens per attempt"
          path="rollout.max_tokens"
          value={r.max_tokens}
          min={1}
          step={1}
          nullable
          placeholder="auto"
          help="empty: auto, the teacher's context length where known, else 16384"
          onChange={(max_tokens) => set({ max_tokens })}
        />
        <NumField label="Seed" path="rollout.seed" value={r.seed} nullable step={1} onChange={(seed) => set({ seed })} />
        <SelectField label="Split" path="rollout.split" value={r.split} options={["train", "eval", "all"] as const} onChange={(split) => set({ split })} help="eval prompts stay held out" />
        <SelectField
          label="Requests"
          path="rollout.mode"
          value={r.mode}
          options={["online", "batch"] as const}
          onChange={(mode) => set(mode === "batch" ? { mode, stop_when_verified: null, smoke: null } : { mode })}
          help="batch: the provider's batch API (OpenAI-compatible teachers), about half the price, answers within 24 h"
        />
      </div>
      {r.mode === "online" && (
        <Check
          label="Adaptive sampling"
          help="(verify attempts as they arrive; stop a prompt once enough passed)"
          checked={adaptive}
          onChange={(on) => set(on ? { stop_when_verified: 1, smoke: null } : { stop_when_verified: null })}
          testId="field-adaptive"
        />
      )}
      {r.mode === "online" && !adaptive && (
        <Check
          label="Smoke run first"
          help="(a seeded sample of prompts is rolled out and verified first; below the floor the run waits for a maintainer)"
          checked={r.smoke !== null}
          onChange={(on) => set({ smoke: on ? { prompts: 20, min_accept: 0.5 } : null })}
          testId="field-smoke"
        />
      )}
      {smoke && (
        <div className="form-grid">
          <NumField
            label="Sample prompts"
            path="rollout.smoke.prompts"
            value={smoke.prompts}
            min={1}
            step={1}
            onChange={(v) => set({ smoke: { ...smoke, prompts: v ?? 1 } })}
          />
          <NumField
            label="Acceptance floor (0-1)"
            path="rollout.smoke.min_accept"
            value={smoke.min_accept}
            min={0}
            max={1}
            step={0.05}
            onChange={(v) => set({ smoke: { ...smoke, min_accept: v ?? 0 } })}
          />
        </div>
      )}
      {adaptive && (
        <div className="form-grid">
          <NumField
            label="Stop after this many verified attempts"
            path="rollout.stop_when_verified"
            value={r.stop_when_verified}
            min={1}
            step={1}
            onChange={(v) => set({ stop_when_verified: v ?? 1 })}
          />
        </div>
      )}
      <TeacherRoutes routes={r.teachers} teachers={teachers} onChange={(routes) => set({ teachers: routes })} path="rollout.teachers" />
      <FieldError path="rollout" />
    </>
  );
}

function VerifyStep({
  state,
  update,
  suggestion,
  kinds,
  rubrics,
  teachers,
}: StepProps & {
  suggestion: VerifierSuggestion | null;
  kinds: Schemas["VerifierKindOut"][];
  rubrics: Schemas["RubricOut"][];
  teachers: Teacher[];
}) {
  const v = state.verifiers;
  const suggested = suggestion?.names;
  const differs = !!suggested && (suggested.length !== v.names.length || suggested.some((n) => !v.names.includes(n)));
  const j = state.judge;
  const setJ = (patch: Partial<WizardState["judge"]>) => update({ judge: { ...j, ...patch } });
  return (
    <>
      <h3>Verifiers</h3>
      <p className="muted small">Every attempt goes through the chosen verifiers (the filter stage). None: no filter, no snapshot.</p>
      <SuggestionNote suggestion={suggestion} />
      {differs && (
        <button type="button" className="secondary" onClick={() => update({ verifiers: { ...v, names: suggested! } })} data-testid="use-suggestion">
          Use {suggested!.length ? suggested!.join(" + ") : "no verifier"} as suggested
        </button>
      )}
      <VerifierChoice kinds={kinds} value={v} onChange={(verifiers) => update({ verifiers })} stage="filter" />
      <FieldError path="filter" />
      <h3>Judge</h3>
      <Check
        label="An LLM judge scores the attempts against the project's rubric"
        checked={j.enabled}
        onChange={(enabled) => setJ({ enabled })}
        testId="field-judge"
      />
      {j.enabled && (
        <div className="form-grid">
          <label>
            Rubric
            <select value={j.rubric_version ?? ""} onChange={(e) => setJ({ rubric_version: e.target.value ? Number(e.target.value) : null })} data-testid="field-judge.rubric_version">
              <option value="">latest</option>
              {rubrics.map((r) => (
                <option key={r.id} value={r.version}>
                  v{r.version} ({r.scale} {r.scale_min}–{r.scale_max}, pass {r.pass_score})
                </option>
              ))}
            </select>
            <FieldError path="judge.rubric_version" />
          </label>
          <label>
            Judge endpoint
            <select value={j.teacher_id ?? ""} onChange={(e) => setJ({ teacher_id: e.target.value ? Number(e.target.value) : null })} data-testid="field-judge.teacher_id">
              <option value="">the run's teacher</option>
              {teachers.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
            <FieldError path="judge.teacher_id" />
          </label>
          <NumField label="Accept at or above" path="judge.accept_threshold" value={j.accept_threshold} nullable placeholder="calibrated" onChange={(accept_threshold) => setJ({ accept_threshold })} />
          <NumField label="Target precision" path="judge.target_precision" value={j.target_precision} min={0} max={1} step={0.01} onChange={(v2) => setJ({ target_precision: v2 ?? 0.95 })} />
          <Check label="The judge decides every attempt" help="(by default only those no verifier decided)" checked={j.overrides_verifiers} onChange={(overrides_verifiers) => setJ({ overrides_verifiers })} testId="field-judge.overrides_verifiers" />
        </div>
      )}
      {rubrics.length === 0 && j.enabled && <p className="muted small">This project has no rubric yet: add one on the Judge page.</p>}
      <h3>Human review</h3>
      <Check
        label="Send what only people can settle (and a random audit) to the review queue"
        checked={state.review.enabled}
        onChange={(enabled) => update({ review: { ...state.review, enabled } })}
        testId="field-review"
      />
      {state.review.enabled && <ReviewRouting value={state.review} onChange={(review) => update({ review })} />}
    </>
  );
}

function SelectionStep({ state, update }: StepProps) {
  const s = state.snapshot;
  const set = (patch: Partial<WizardState["snapshot"]>) => update({ snapshot: { ...s, ...patch } });
  if (state.verifiers.names.length === 0) {
    return <p className="muted">The snapshot selects from the filter's verdicts: pick a verifier first.</p>;
  }
  return (
    <>
      <Check label="Write a dataset snapshot of the selected traces" checked={s.enabled} onChange={(enabled) => set({ enabled })} testId="field-snapshot" />
      {s.enabled && (
        <>
          <div className="form-grid">
            <SelectField label="Include" path="snapshot.include" value={s.include} options={[["accepted", "accepted attempts"], ["all", "all attempts (unfiltered ablation)"]] as const} onChange={(include) => set({ include })} />
            <SelectField label="Reasoning" path="snapshot.reasoning" value={s.reasoning} options={[["keep", "keep the reasoning"], ["drop", "answers only (ablation)"]] as const} onChange={(reasoning) => set({ reasoning })} />
            <NumField label="At most k attempts per prompt" path="snapshot.max_per_prompt" value={s.max_per_prompt} nullable min={1} step={1} onChange={(max_per_prompt) => set({ max_per_prompt })} />
            {s.max_per_prompt !== null && (
              <SelectField label="Keep which" path="snapshot.pick" value={s.pick} options={["shortest", "random", "judge_score"] as const} onChange={(pick) => set({ pick })} />
            )}
          </div>
          <Check
            label="Pass-rate band"
            help="(keep prompts whose share of accepted attempts lies in [low, high]: drops too easy and too hard ones)"
            checked={s.pass_rate_band !== null}
            onChange={(on) => set({ pass_rate_band: on ? [0.1, 0.9] : null })}
            testId="field-pass-rate-band"
          />
          {s.pass_rate_band && (
            <div className="form-grid">
              <NumField label="Low" path="snapshot.pass_rate_band.0" value={s.pass_rate_band[0]} min={0} max={1} step={0.05} onChange={(lo) => set({ pass_rate_band: [lo ?? 0, s.pass_rate_band![1]] })} />
              <NumField label="High" path="snapshot.pass_rate_band.1" value={s.pass_rate_band[1]} min={0} max={1} step={0.05} onChange={(hi) => set({ pass_rate_band: [s.pass_rate_band![0], hi ?? 1] })} />
            </div>
          )}
          <Check label="Drop near-duplicate attempts of a prompt" checked={s.drop_near_duplicates} onChange={(drop_near_duplicates) => set({ drop_near_duplicates })} testId="field-snapshot.drop_near_duplicates" />
          {s.drop_near_duplicates && (
            <div className="form-grid">
              <NumField label="Near-duplicate Jaccard" path="snapshot.near_duplicate_jaccard" value={s.near_duplicate_jaccard} min={0} max={1} step={0.05} onChange={(v) => set({ near_duplicate_jaccard: v ?? 0.8 })} />
            </div>
          )}
          <Check label="Also write chosen/rejected pairs (for DPO)" checked={s.preference_pairs} onChange={(preference_pairs) => set({ preference_pairs })} testId="field-snapshot.preference_pairs" />
          <FieldError path="snapshot" />
        </>
      )}
    </>
  );
}

function LaunchStep({
  state,
  yamlText,
  teacher,
  ready,
  rollout,
  estimate,
  errors,
  goTo,
  needsAck,
  acknowledged,
  setAcknowledged,
}: {
  state: WizardState;
  yamlText: string;
  teacher: Teacher | undefined;
  ready: boolean;
  rollout: boolean;
  estimate: { data?: Schemas["RolloutEstimate"]; isFetching: boolean; isError: boolean };
  errors: Map<string, string>;
  goTo: (s: StepId) => void;
  needsAck: boolean;
  acknowledged: boolean;
  setAcknowledged: (v: boolean) => void;
}) {
  const file = `${(state.name.trim() || "recipe").replace(/[^\w.-]+/g, "-")}.yaml`;
  const [href, setHref] = useState("");
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([yamlText], { type: "application/yaml" }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [yamlText]);
  const e = estimate.data;
  return (
    <>
      {!ready && (
        <p className="error" role="alert" data-testid="wizard-not-ready">
          Choose a prompt set{rollout ? " and a teacher" : " (and a teacher, which a stage needs)"} first{" "}
          <button type="button" className="secondary" onClick={() => goTo("data")}>
            Data and teacher
          </button>
        </p>
      )}
      <p data-testid="wizard-stages">
        <strong>Stages:</strong> {stagesOf(state).join(" → ")}
      </p>
      {rollout && (
      <div className="estimate" data-testid="wizard-estimate">
        <h3>Estimate (rollout)</h3>
        {ready && estimate.isFetching && <p className="muted">Estimating…</p>}
        {e && (
          <>
            <dl className="facts">
              <dt>Prompts × attempts</dt>
              <dd data-testid="estimate-attempts">
                {formatNumber(e.prompts)} × {formatNumber(e.attempts / Math.max(e.prompts, 1))} = {formatNumber(e.attempts)} attempts
                {state.rollout.stop_when_verified !== null ? " at most (adaptive sampling stops early)" : ""}
              </dd>
              <dt>Tokens</dt>
              <dd data-testid="estimate-tokens">
                {formatNumber(e.input_tokens)} in, {formatNumber(e.output_tokens)} out (at most)
              </dd>
              <dt>Max tokens</dt>
              <dd data-testid="estimate-max-tokens">
                {formatNumber(e.max_tokens)} per attempt <span className="muted small">({e.max_tokens_source})</span>
              </dd>
              <dt>Cost</dt>
              <dd data-testid="estimate-cost">{e.cost_usd === null ? "unknown (no price)" : `$${e.cost_usd.toFixed(2)}`}</dd>
              <dt>Time</dt>
              <dd data-testid="estimate-time">
                {e.seconds === null ? "unknown" : formatSeconds(e.seconds)}
                <span className="muted small" data-testid="estimate-time-source">
                  {SECONDS_SOURCE[e.seconds_source]}
                </span>
              </dd>
            </dl>
            <ul className="muted small">
              {e.basis.map((b, i) => (
                <li key={i}>{b}</li>
              ))}
            </ul>
            {e.review && <ReviewLoadView load={e.review} />}
          </>
        )}
        {estimate.isError && errors.size === 0 && <p className="muted">No estimate (see the error below).</p>}
      </div>
      )}
      {teacher && (
        <div data-testid="wizard-licence">
          <LicenceNote teacher={teacher} />
          {needsAck && (
            <Check
              label="I have checked that training a student on this teacher's outputs is allowed for this use"
              checked={acknowledged}
              onChange={setAcknowledged}
              testId="licence-ack"
            />
          )}
        </div>
      )}
      <h3>Recipe</h3>
      <p className="muted small">
        The same file the CLI takes: <code>distillery runs create {file} --project ID --name NAME</code>
      </p>
      <pre className="recipe-yaml" data-testid="wizard-yaml">
        {yamlText}
      </pre>
      <div className="card-actions">
        <a className="button secondary" href={href} download={file} data-testid="wizard-download">
          Download {file}
        </a>
        <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(yamlText)}>
          Copy
        </button>
      </div>
    </>
  );
}

function ErrorSummary({ error, errors, goTo }: { error: unknown; errors: Map<string, string>; goTo: (s: StepId) => void }) {
  const items: ReactNode[] = [...errors.entries()].map(([path, msg]) => {
    const s = stepOfPath(path);
    return (
      <li key={path}>
        <code>{path || "recipe"}</code>: {msg}{" "}
        {s !== "launch" && (
          <button type="button" className="link" onClick={() => goTo(s)}>
            fix in {STEPS.find((x) => x.id === s)!.title}
          </button>
        )}
      </li>
    );
  });
  return (
    <div className="error" role="alert" data-testid="wizard-error">
      <p>{errorMessage(error)}</p>
      {items.length > 0 && <ul>{items}</ul>}
    </div>
  );
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** A file's text (FileReader: works in every browser and in jsdom). */
function readText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("could not read the file"));
    reader.readAsText(file);
  });
}
