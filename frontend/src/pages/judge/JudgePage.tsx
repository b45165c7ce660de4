import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { LineChart } from "../../components/charts/LineChart";
import { atLeast } from "../../lib/roles";
import "./judge.css";
import { calibrationQuery, keys, projectQuery, rubricsQuery } from "../../api/queries";

type Rubric = Schemas["RubricOut"];
type Calibration = Schemas["CalibrationOut"];
type Agreement = Schemas["AgreementOut"];
type RubricIn = Schemas["RubricIn"];

const DEFAULT_TEMPLATE =
  "Question: {question}\nReference answer: {reference}\nReasoning: {reasoning}\nAnswer: {answer}\n\n" +
  'Is the answer correct and the reasoning sound? Reply with JSON {"score": 1-5, "rationale": "..."}.';

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`;
}

function interval(ci: number[] | null | undefined): string {
  return ci ? `${pct(ci[0])} – ${pct(ci[1])}` : "";
}

/** Accuracy, kappa, precision and recall (with intervals) and the confusion table at one threshold. */
function AgreementCard({ title, a, testId }: { title: string; a: Agreement; testId: string }) {
  const c = a.confusion;
  return (
    <div className="card judge-agreement" data-testid={testId}>
      <h3>
        {title} <span className="muted small">accept at score ≥ {a.threshold}</span>
      </h3>
      <dl className="facts">
        <dt>Labels</dt>
        <dd>{a.labels}</dd>
        <dt>Accuracy</dt>
        <dd data-testid={`${testId}-accuracy`}>{pct(a.accuracy)}</dd>
        <dt>Cohen's kappa</dt>
        <dd data-testid={`${testId}-kappa`}>{a.kappa === null ? "– (one class only)" : a.kappa.toFixed(3)}</dd>
        <dt>Precision of accept</dt>
        <dd data-testid={`${testId}-precision`}>
          {pct(a.precision)} <span className="muted small">{interval(a.precision_ci95)}</span>
        </dd>
        <dt>Recall of accept</dt>
        <dd data-testid={`${testId}-recall`}>
          {pct(a.recall)} <span className="muted small">{interval(a.recall_ci95)}</span>
        </dd>
      </dl>
      <table className="table compact judge-confusion" data-testid={`${testId}-confusion`}>
        <thead>
          <tr>
            <th />
            <th>Judge accepts</th>
            <th>Judge rejects</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th>Human accepts</th>
            <td className="judge-right">{c.true_accept}</td>
            <td className="judge-wrong">{c.false_reject}</td>
          </tr>
          <tr>
            <th>Human rejects</th>
            <td className="judge-wrong">{c.false_accept}</td>
            <td className="judge-right">{c.true_reject}</td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}

function CalibrationView({ cal, scale }: { cal: Calibration; scale: [number, number] | null }) {
  const series = [
    { name: "precision", points: cal.curve.map((p) => ({ x: p.threshold, y: p.precision })) },
    { name: "recall", points: cal.curve.map((p) => ({ x: p.threshold, y: p.recall })) },
    { name: "coverage", points: cal.curve.map((p) => ({ x: p.threshold, y: p.coverage })) },
  ];
  if (cal.curve.length > 0) {
    // the target precision as a dashed line across the rubric's whole scale
    const xs = [...cal.curve.map((p) => p.threshold), ...(scale ?? [])];
    series.push({
      name: `target precision ${cal.target_precision}`,
      points: [
        { x: Math.min(...xs), y: cal.target_precision },
        { x: Math.max(...xs), y: cal.target_precision },
      ],
      dashed: true,
    } as (typeof series)[number]);
  }
  return (
    <div data-testid="calibration" data-status={cal.status}>
      {cal.status !== "calibrated" && (
        <div className={`judge-status judge-status-${cal.status}`} data-testid="calibration-message">
          <strong>{cal.status === "too_few_labels" ? "Too few labels." : "Target not reached."}</strong> {cal.message}
          {cal.status === "too_few_labels" && (
            <div className="judge-labels-bar" aria-label={`${cal.labels} of ${cal.min_labels} labels`}>
              <div style={{ width: `${Math.min(100, (cal.labels / cal.min_labels) * 100)}%` }} />
            </div>
          )}
        </div>
      )}
      <p className="judge-basis" data-testid="calibration-basis">
        {cal.basis.text.charAt(0).toUpperCase() + cal.basis.text.slice(1)}.
      </p>
      {cal.thresholds && (
        <p className="judge-thresholds" data-testid="calibration-thresholds">
          Chosen thresholds: accept at score ≥ <strong>{cal.thresholds.accept}</strong>, reject below{" "}
          <strong>{cal.thresholds.reject}</strong>, between is unsure and goes to review. Coverage{" "}
          <strong data-testid="calibration-coverage">{pct(cal.coverage)}</strong> of labelled attempts decided
          without a person.
        </p>
      )}
      <div className="judge-agreements">
        <AgreementCard title="At the rubric's pass score" a={cal.at_pass_score} testId="at-pass" />
        {cal.at_accept_threshold && (
          <AgreementCard title="At the chosen threshold" a={cal.at_accept_threshold} testId="at-threshold" />
        )}
      </div>
      {cal.picked && (
        <details className="judge-picked" data-testid="calibration-picked">
          <summary>
            Picked labels only ({cal.basis.picked}): the router chose these attempts because the machines disagreed or
            doubted, so they show where the judge is worst, not how often it is right
          </summary>
          <AgreementCard title="Picked labels (not a random sample)" a={cal.picked} testId="picked" />
        </details>
      )}
      <div className="card">
        <LineChart
          title="Precision, recall and coverage if the judge accepted at score ≥ x"
          yLabel="share"
          series={series}
          formatY={(y) => `${Math.round(y * 100)}%`}
          emptyText="No labelled attempt has a judge score yet."
          testId="calibration-curve"
        />
      </div>
    </div>
  );
}

function RubricForm({
  projectId,
  base,
  onDone,
}: {
  projectId: number;
  base: Rubric | undefined;
  onDone: (version: number) => void;
}) {
  const qc = useQueryClient();
  const [draft, setDraft] = useState<RubricIn>({
    template: base?.template ?? DEFAULT_TEMPLATE,
    scale: (base?.scale as RubricIn["scale"]) ?? "score",
    scale_min: base?.scale_min ?? 1,
    scale_max: base?.scale_max ?? 5,
    pass_score: base?.pass_score ?? null,
    note: "",
  });
  const create = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/projects/{project_id}/rubrics", { params: { path: { project_id: projectId } }, body: draft })),
    onSuccess: (r) => {
      qc.invalidateQueries({ queryKey: keys.rubrics(projectId) });
      onDone(r.version);
    },
  });
  const set = <K extends keyof RubricIn>(k: K, v: RubricIn[K]) => setDraft((d) => ({ ...d, [k]: v }));
  return (
    <form
      className="card judge-form"
      data-testid="rubric-form"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h2>New rubric version{base ? ` (from version ${base.version})` : ""}</h2>
      <label>
        Template: {"{question}"}, {"{reference}"}, {"{reasoning}"} and {"{answer}"} are filled in
        <textarea
          data-testid="rubric-template"
          rows={7}
          value={draft.template}
          onChange={(e) => set("template", e.target.value)}
        />
      </label>
      <div className="judge-form-row">
        <label>
          Scale
          <select value={draft.scale} onChange={(e) => set("scale", e.target.value as RubricIn["scale"])}>
            <option value="score">score</option>
            <option value="pass_fail">pass / fail</option>
          </select>
        </label>
        {draft.scale === "score" && (
          <>
            <label>
              Lowest
              <input type="number" value={draft.scale_min ?? 1} onChange={(e) => set("scale_min", Number(e.target.value))} />
            </label>
            <label>
              Highest
              <input type="number" value={draft.scale_max ?? 5} onChange={(e) => set("scale_max", Number(e.target.value))} />
            </label>
          </>
        )}
        <label>
          Pass score (empty: the top)
          <input
            type="number"
            step="any"
            value={draft.pass_score ?? ""}
            onChange={(e) => set("pass_score", e.target.value === "" ? null : Number(e.target.value))}
          />
        </label>
        <label className="grow">
          What changed
          <input data-testid="rubric-note" value={draft.note ?? ""} onChange={(e) => set("note", e.target.value)} />
        </label>
      </div>
      {create.isError && (
        <p className="error" role="alert" data-testid="rubric-error">
          {errorMessage(create.error)}
        </p>
      )}
      <div className="card-actions">
        <button type="submit" disabled={create.isPending} data-testid="rubric-save">
          {create.isPending ? "Saving…" : "Create version"}
        </button>
      </div>
    </form>
  );
}

/** Upload a JSONL or CSV file of human labels; the API's error names the line or row. */
function LabelImport({ projectId, onImported }: { projectId: number; onImported: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const upload = useMutation({
    mutationFn: (file: File) => {
      const form = new FormData();
      form.append("file", file, file.name);
      return unwrap(
        api.POST("/api/projects/{project_id}/labels/import", {
          params: { path: { project_id: projectId } },
          body: form as unknown as Schemas["Body_importLabels"],
          bodySerializer: (b) => b as unknown as FormData,
        }),
      );
    },
    onSuccess: () => {
      if (input.current) input.current.value = "";
      onImported();
    },
  });
  return (
    <div className="card" data-testid="label-import">
      <h2>Import human labels</h2>
      <p className="muted small">
        JSONL (one {'{"generation_id": 12, "label": "accept"}'} per line) or CSV with columns generation_id,label.
        Labels: accept/reject (or true/false, 1/0, pass/fail). A file with any bad row stores nothing.
      </p>
      <div className="inline-form">
        <input
          ref={input}
          type="file"
          accept=".jsonl,.json,.csv,text/csv,application/json"
          data-testid="label-file"
          disabled={upload.isPending}
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) upload.mutate(f);
          }}
        />
        {upload.isPending && (
          <span className="muted" data-testid="label-progress">
            Importing {upload.variables?.name}…
          </span>
        )}
      </div>
      {upload.isSuccess && (
        <p className="judge-ok" data-testid="label-result">
          Imported {upload.data.imported} labels from {upload.variables?.name}.
        </p>
      )}
      {upload.isError && (
        <p className="error" role="alert" data-testid="label-error">
          {upload.variables?.name}: {errorMessage(upload.error)}
        </p>
      )}
    </div>
  );
}

export function JudgePage({ projectId }: { projectId: number }) {
  const qc = useQueryClient();
  const project = useQuery(projectQuery(projectId));
  const rubrics = useQuery(rubricsQuery(projectId));
  const canEdit = atLeast(project.data?.role, "maintainer");
  const [version, setVersion] = useState<number | null>(null);
  const [target, setTarget] = useState(0.95);
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    if (version === null && rubrics.data?.length) setVersion(rubrics.data[0].version);
  }, [rubrics.data, version]);
  const selected = rubrics.data?.find((r) => r.version === version);
  const calibration = useQuery(calibrationQuery(projectId, version, target));

  return (
    <div data-testid="judge-page">
      <div className="card-head">
        <h1>Judge</h1>
        {canEdit && !creating && (
          <button type="button" data-testid="rubric-new" onClick={() => setCreating(true)}>
            New rubric version
          </button>
        )}
      </div>
      {(rubrics.isError || project.isError) && (
        <p className="error" role="alert">
          {errorMessage(rubrics.error ?? project.error)}
        </p>
      )}
      {creating && (
        <RubricForm
          projectId={projectId}
          base={selected}
          onDone={(v) => {
            setCreating(false);
            setVersion(v);
          }}
        />
      )}
      <div className="judge-layout">
        <aside className="card judge-versions">
          <h2>Rubric versions</h2>
          {rubrics.isPending ? (
            <p className="muted">Loading…</p>
          ) : rubrics.data?.length === 0 ? (
            <p className="muted" data-testid="rubric-none">
              No rubric yet{canEdit ? ": create the first version." : "."}
            </p>
          ) : (
            <ul className="judge-version-list" data-testid="rubric-versions">
              {rubrics.data?.map((r) => (
                <li key={r.id}>
                  <button
                    type="button"
                    className={`judge-version ${r.version === version ? "selected" : ""}`}
                    data-testid="rubric-version"
                    aria-pressed={r.version === version}
                    onClick={() => setVersion(r.version)}
                  >
                    <strong>v{r.version}</strong> <span className="muted small">{r.created_at.slice(0, 10)}</span>
                    {r.note && <span className="small judge-note">{r.note}</span>}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </aside>
        <section className="judge-main">
          {selected && (
            <div className="card">
              <div className="card-head">
                <h2>Version {selected.version}</h2>
                <label className="judge-target">
                  Target precision
                  <select
                    data-testid="calibration-target"
                    value={target}
                    onChange={(e) => setTarget(Number(e.target.value))}
                  >
                    {[0.8, 0.9, 0.95, 0.98, 0.99].map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                </label>
              </div>
              <p className="small muted">
                Scale {selected.scale} {selected.scale === "score" ? `${selected.scale_min}–${selected.scale_max}` : ""},
                pass score {selected.pass_score}
              </p>
              <details>
                <summary className="small">Template</summary>
                <pre className="judge-template">{selected.template}</pre>
              </details>
            </div>
          )}
          {calibration.isError && (
            <p className="error" role="alert" data-testid="calibration-error">
              {errorMessage(calibration.error)}
            </p>
          )}
          {calibration.isFetching && !calibration.data && <p className="muted">Computing calibration…</p>}
          {calibration.data && (
            <CalibrationView cal={calibration.data} scale={selected ? [selected.scale_min, selected.scale_max] : null} />
          )}
          {canEdit && (
            <LabelImport
              projectId={projectId}
              onImported={() => qc.invalidateQueries({ queryKey: keys.calibration(projectId) })}
            />
          )}
        </section>
      </div>
    </div>
  );
}
