/**
 * The pressure test, before spending: the base student and the teacher on a sample of held-out prompts
 * (POST .../pressure-tests, an evaluate-only run), and the verdict once the run is done. The wizard shows
 * the launcher; the Experiments page shows the verdict of each one made.
 */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { experimentQuery, keys } from "../../api/queries";

type Result = Schemas["PressureResult"];

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function PressureVerdict({ result, runId, projectId }: { result: Result; runId?: number; projectId: number }) {
  const run = runId ? (
    <Link to="/projects/$projectId/runs/$runId" params={{ projectId, runId }}>
      run #{runId}
    </Link>
  ) : null;
  if (result.error) {
    return (
      <p className="error" data-testid="pressure-error">
        No verdict: {result.error} ({run})
      </p>
    );
  }
  if (!result.verdict || !result.difference?.ci) {
    return (
      <p className="muted" data-testid="pressure-waiting">
        Evaluating the student and the teacher ({result.status}, {run})…
      </p>
    );
  }
  const [lo, hi] = result.difference.ci;
  return (
    <div className={`pressure-verdict pressure-${result.verdict}`} data-testid="pressure-verdict" data-verdict={result.verdict}>
      <p className="pressure-sentence">{result.sentence}</p>
      <dl className="facts">
        <dt>Teacher</dt>
        <dd>{result.teacher ? pct(result.teacher.pass_at_1) : "–"}</dd>
        <dt>Base student</dt>
        <dd>{result.student ? pct(result.student.pass_at_1) : "–"}</dd>
        <dt>Teacher − student</dt>
        <dd>
          {((result.difference.difference ?? 0) * 100).toFixed(1)} points, 95% interval {(lo * 100).toFixed(1)} to {(hi * 100).toFixed(1)} over{" "}
          {result.difference.prompts} prompts (margin {(result.margin * 100).toFixed(0)} points; {run})
        </dd>
      </dl>
    </div>
  );
}

/** The wizard's launcher: needs the prompt set, the teacher and the student the recipe trains. */
export function PressureTest({
  projectId,
  promptSetId,
  teacherId,
  student,
}: {
  projectId: number;
  promptSetId: number | null;
  teacherId: number | null;
  student: string;
}) {
  const qc = useQueryClient();
  const [sample, setSample] = useState(100);
  const [margin, setMargin] = useState(5);
  const [id, setId] = useState<number | null>(null);
  const launch = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/pressure-tests", {
          params: { path: { project_id: projectId } },
          body: { prompt_set_id: promptSetId ?? 0, teacher_id: teacherId ?? 0, student, sample, margin: margin / 100 },
        }),
      ),
    onSuccess: (e) => {
      setId(e.id);
      qc.invalidateQueries({ queryKey: keys.experiments(projectId) });
    },
  });
  const exp = useQuery({
    ...experimentQuery(projectId, id ?? 0),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data?.pressure && !q.state.data.pressure.verdict && !q.state.data.pressure.error ? 2000 : false),
  });
  const ready = promptSetId !== null && teacherId !== null && student.trim() !== "";
  return (
    <div className="card pressure-test" data-testid="pressure-test">
      <h3>Pressure test: does the teacher beat the student?</h3>
      <p className="muted small">
        Before spending on a rollout and a training: the student as it is ({student || "set it in Training"}) and the teacher answer a sample of
        held-out prompts. If the teacher is not materially better, distillation will not earn its build.
      </p>
      <div className="form-grid">
        <label>
          Held-out prompts
          <input type="number" min={1} max={10000} value={sample} onChange={(e) => setSample(Number(e.target.value))} data-testid="pressure-sample" />
        </label>
        <label>
          Margin (points)
          <input type="number" min={0} max={100} value={margin} onChange={(e) => setMargin(Number(e.target.value))} data-testid="pressure-margin" />
        </label>
      </div>
      <button type="button" className="secondary" disabled={!ready || launch.isPending} onClick={() => launch.mutate()} data-testid="pressure-launch">
        {launch.isPending ? "Starting…" : "Run the pressure test"}
      </button>
      {!ready && <span className="muted small"> Choose a prompt set, a teacher and a student first.</span>}
      {launch.isError && <p className="error">{errorMessage(launch.error)}</p>}
      {exp.data?.pressure && <PressureVerdict result={exp.data.pressure} runId={exp.data.run_ids[0]} projectId={projectId} />}
    </div>
  );
}
