/**
 * The Experiments page: a project's experiments (runs compared on one evaluation set) and pressure tests.
 * One table per experiment: each run's factors (the recipe settings that differ between its runs), the
 * student's, base's and teacher's accuracy with 95% intervals, the gain over the base student (paired
 * interval), the teacher's cost and GPU-seconds, and the cost per point gained. Maintainers create one
 * from run ids or derive them from runs sharing an evaluation set.
 */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { experimentQuery, experimentsQuery, keys, projectQuery } from "../../api/queries";
import { atLeast } from "../../lib/roles";
import { PressureVerdict } from "./PressureTest";
import "./experiments.css";

type Detail = Schemas["ExperimentDetail"];
type Score = Schemas["Score"];
type Diff = Schemas["Difference"];

export const pct = (v: number | null | undefined): string => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);

export function ScoreCell({ s }: { s: Score | null | undefined }) {
  if (!s) return <span className="muted">–</span>;
  return (
    <>
      {pct(s.pass_at_1)} <span className="muted small">[{pct(s.pass_at_1_ci[0])}, {pct(s.pass_at_1_ci[1])}]</span>
    </>
  );
}

function points(v: number): string {
  return `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}`;
}

function GainCell({ d }: { d: Diff | null | undefined }) {
  if (!d || d.difference === null || !d.ci) return <span className="muted">–</span>;
  return (
    <span className={d.ci[0] > 0 ? "exp-up" : d.ci[1] < 0 ? "exp-down" : ""}>
      {points(d.difference)} <span className="muted small">[{points(d.ci[0])}, {points(d.ci[1])}]</span>
    </span>
  );
}

function factorText(v: unknown): string {
  if (v === true) return "on";
  if (v === false) return "off";
  if (v === null || v === undefined) return "–";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

const money = (v: number | null) => (v === null ? "–" : `$${v.toFixed(4)}`);
const secs = (v: number | null) => (v === null ? "–" : v.toFixed(1));

export function ExperimentTable({ exp, projectId }: { exp: Detail; projectId: number }) {
  if (exp.rows.length === 0) return <p className="muted">None of its runs exists any more.</p>;
  return (
    <div className="exp-scroll">
      <table className="table compact exp-table" data-testid="experiment-table">
        <thead>
          <tr>
            <th>Run</th>
            {exp.factors.map((f) => (
              <th key={f.path} title={f.path} className="exp-factor">
                {f.name}
              </th>
            ))}
            <th>Student</th>
            <th>Base</th>
            <th>Teacher</th>
            <th title="Student minus base, points, paired 95% interval">Gain (points)</th>
            <th>Teacher $</th>
            <th>GPU-s</th>
            <th>$ / point</th>
            <th>GPU-s / point</th>
          </tr>
        </thead>
        <tbody>
          {exp.rows.map((r) => (
            <tr key={r.run_id} data-testid={`experiment-row-${r.run_id}`}>
              <td>
                <Link to="/projects/$projectId/runs/$runId" params={{ projectId, runId: r.run_id }}>
                  #{r.run_id} {r.run_name}
                </Link>{" "}
                <span className="muted small">{r.status}</span>
              </td>
              {exp.factors.map((f) => (
                <td key={f.path} className="exp-factor">
                  {factorText(r.factors[f.path])}
                </td>
              ))}
              <td>
                <ScoreCell s={r.student} />
              </td>
              <td>
                <ScoreCell s={r.base} />
              </td>
              <td>
                <ScoreCell s={r.teacher} />
              </td>
              <td>
                <GainCell d={r.gain} />
              </td>
              <td className="num">{money(r.teacher_usd)}</td>
              <td className="num">{secs(r.gpu_seconds)}</td>
              <td className="num" data-testid={`usd-per-point-${r.run_id}`}>
                {money(r.usd_per_point)}
              </td>
              <td className="num">{secs(r.gpu_seconds_per_point)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ExperimentView({ projectId, experimentId }: { projectId: number; experimentId: number }) {
  const exp = useQuery({
    ...experimentQuery(projectId, experimentId),
    // a pressure test still running: poll until its verdict (or its run's error) is in
    refetchInterval: (q) => (q.state.data?.pressure && !q.state.data.pressure.verdict && !q.state.data.pressure.error ? 2000 : false),
  });
  if (exp.isPending) return <p className="muted">Loading…</p>;
  if (exp.isError) return <p className="error">{errorMessage(exp.error)}</p>;
  const e = exp.data;
  return (
    <section className="card" data-testid="experiment-detail">
      <h2>
        {e.name} <span className="muted small">{e.kind === "pressure" ? "pressure test" : e.auto ? "derived" : ""}</span>
      </h2>
      <p className="muted small">
        Evaluated on {e.eval_set_label}; {e.factors.length ? `factors: ${e.factors.map((f) => f.name).join(", ")}` : "no setting differs"}.
      </p>
      {e.pressure && <PressureVerdict result={e.pressure} runId={e.run_ids[0]} projectId={projectId} />}
      {e.kind === "compare" && <ExperimentTable exp={e} projectId={projectId} />}
    </section>
  );
}

function CreateForm({ projectId, onMade }: { projectId: number; onMade: (id: number) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const [runs, setRuns] = useState("");
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/experiments", {
          params: { path: { project_id: projectId } },
          body: { name, run_ids: runs.split(/[\s,]+/).filter(Boolean).map(Number) },
        }),
      ),
    onSuccess: (e) => {
      qc.invalidateQueries({ queryKey: keys.experiments(projectId) });
      setName("");
      setRuns("");
      onMade(e.id);
    },
  });
  return (
    <form
      className="exp-create"
      onSubmit={(ev) => {
        ev.preventDefault();
        create.mutate();
      }}
    >
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} data-testid="experiment-name" />
      </label>
      <label>
        Run ids
        <input value={runs} onChange={(e) => setRuns(e.target.value)} placeholder="e.g. 3, 4, 7" data-testid="experiment-runs" />
      </label>
      <button type="submit" disabled={!name || !runs || create.isPending} data-testid="experiment-create">
        Create
      </button>
      {create.isError && <p className="error">{errorMessage(create.error)}</p>}
    </form>
  );
}

export function ExperimentsPage({ projectId }: { projectId: number }) {
  const qc = useQueryClient();
  const project = useQuery(projectQuery(projectId));
  const list = useQuery(experimentsQuery(projectId));
  const [chosen, setChosen] = useState<number | null>(null);
  const canEdit = atLeast(project.data?.role, "maintainer");
  const derive = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/experiments/derive", { params: { path: { project_id: projectId } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.experiments(projectId) }),
  });
  const items = list.data ?? [];
  const current = chosen ?? items[0]?.id ?? null;
  return (
    <div className="page experiments-page" data-testid="experiments-page">
      <h1>Experiments</h1>
      <p className="muted">
        Runs scored on the same held-out prompts, side by side: what each recipe choice bought, and at what cost per point over the base student.
        A pressure test (launched from the wizard) asks first whether the teacher beats the student at all.
      </p>
      {canEdit && (
        <div className="card exp-actions">
          <CreateForm projectId={projectId} onMade={setChosen} />
          <button type="button" className="secondary" onClick={() => derive.mutate()} disabled={derive.isPending} data-testid="experiments-derive">
            Derive from runs sharing a prompt set
          </button>
          {derive.isSuccess && <span className="muted small">{derive.data.length} derived</span>}
          {derive.isError && <p className="error">{errorMessage(derive.error)}</p>}
        </div>
      )}
      {list.isError && <p className="error">{errorMessage(list.error)}</p>}
      {list.isSuccess && items.length === 0 && <p className="muted" data-testid="experiments-empty">No experiment yet.</p>}
      <div className="exp-layout">
        <ul className="exp-list" data-testid="experiments-list">
          {items.map((e) => (
            <li key={e.id}>
              <button type="button" className={e.id === current ? "link-button active" : "link-button"} onClick={() => setChosen(e.id)} data-testid={`experiment-${e.id}`}>
                {e.name}
              </button>
              <span className="muted small"> {e.kind === "pressure" ? "pressure test" : `${e.run_ids.length} runs`}</span>
            </li>
          ))}
        </ul>
        {current !== null && <ExperimentView key={current} projectId={projectId} experimentId={current} />}
      </div>
    </div>
  );
}
