import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { api, unwrap, type RunDetail, type Role } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { partlyFailedOf, StatusBadge } from "../../components/StatusBadge";
import { formatDuration, formatTime, isFinished } from "../../lib/format";
import { LIVE_REFRESH_MS } from "../../lib/live";
import { atLeast } from "../../lib/roles";
import { ProfileTable } from "./ProfileTable";
import { Artifacts } from "./Artifacts";
import { EvaluationComparison } from "./EvaluationComparison";
import { RunMetrics } from "./RunMetrics";
import { RolloutTeachers } from "./TeacherCounts";
import { SmokeSample, smokeOf } from "./SmokeSample";
import { StageResume } from "./StageResume";
import { StageTimeline } from "./StageTimeline";
import { TrainingCurves } from "./TrainingCurves";
import "./run.css";
import { checkpointCurveQuery, evaluationsQuery, keys, projectQuery, runQuery } from "../../api/queries";

/** A clock that ticks every second while `live`, so elapsed times move between polls. */
function useNow(live: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [live]);
  return live ? now : Date.now();
}

/**
 * The run page: the stages as a live timeline (polled every 2 s until the run finishes), the rollout's
 * throughput and cost, acceptance per verifier, the training curves (live while it trains), the evaluation's
 * comparison of base, student and teacher, and what the run made (snapshot, model). Maintainers cancel or
 * re-queue, or edit a failed stage's settings and resume from it, and decide on a smoke sample below its floor.
 */
export function RunPage({ projectId, runId }: { projectId: number; runId: number }) {
  const queryClient = useQueryClient();
  const path = { project_id: projectId, run_id: runId };
  const project = useQuery(projectQuery(projectId));
  const role: Role | null = project.data?.role ?? null;
  const run = useQuery({
    ...runQuery(projectId, runId),
    refetchInterval: (query) => {
      const data = query.state.data;
      return data && isFinished(data.status) ? false : LIVE_REFRESH_MS;
    },
  });
  const hasEvaluate = run.data?.stages.some((s) => s.kind === "evaluate") ?? false;
  const evaluating = run.data?.stages.some((s) => s.kind === "evaluate" && !isFinished(s.status)) ?? false;
  // The evaluate stage's summary names every model it compared (a teacher's scores may be reused from
  // another run); the run's own evaluations fill in while the stage has not summarised yet.
  const summarised = run.data?.summary.evaluate?.models ?? [];
  const evaluations = useQuery({
    ...evaluationsQuery(projectId, runId),
    enabled: hasEvaluate && summarised.length === 0,
    refetchInterval: evaluating ? LIVE_REFRESH_MS : false,
  });
  // evaluate.checkpoints: accuracy per checkpoint, drawn beside the loss; read live while the stage scores them
  const recipeEval = (run.data?.recipe as { evaluate?: { checkpoints?: unknown } } | undefined)?.evaluate;
  const curve = useQuery({
    ...checkpointCurveQuery(projectId, runId),
    enabled: Boolean(recipeEval?.checkpoints) && !run.data?.summary.evaluate,
    refetchInterval: evaluating ? LIVE_REFRESH_MS : false,
  });
  const onDone = (detail: RunDetail) => {
    queryClient.setQueryData(["run", projectId, runId], detail);
    void queryClient.invalidateQueries({ queryKey: keys.runs(projectId) });
  };
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/cancel", { params: { path } })),
    onSuccess: onDone,
  });
  const requeue = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/requeue", { params: { path } })),
    onSuccess: onDone,
  });
  const [editing, setEditing] = useState<number | null>(null);
  const live = run.data ? !isFinished(run.data.status) : false;
  const now = useNow(live);

  if (run.isPending) {
    return (
      <section className="card run-page">
        <p className="muted">Loading run…</p>
      </section>
    );
  }
  if (run.isError) {
    return (
      <section className="card run-page">
        <p className="error" role="alert" data-testid="run-error">
          {errorMessage(run.error)}
        </p>
      </section>
    );
  }
  const r = run.data;
  const maintainer = atLeast(role, "maintainer");
  const canCancel = maintainer && !isFinished(r.status) && r.status !== "cancelling";
  const canRequeue = maintainer && (r.status === "failed" || r.status === "cancelled");
  const editable = (st: RunDetail["stages"][number]) => canRequeue && (st.status === "failed" || st.status === "cancelled");
  const edited = r.stages.find((st) => st.id === editing && editable(st));
  const s = r.summary;
  const smoke = smokeOf(r);
  const params = { projectId, runId };
  // The run's summary has a stage's metrics once it ends; while it trains they are on the stage itself.
  const trainStage = r.stages.find((st) => st.kind === "train");
  const training = trainStage?.kind === "train" && !isFinished(trainStage.status);
  const trainMetrics = trainStage?.kind === "train" ? trainStage.metrics : null;
  const train = training ? (trainMetrics ?? s.train) : (s.train ?? trainMetrics);

  return (
    <section className="card run-page" data-testid="run-detail" data-run-id={r.id} data-run-status={r.status}>
      <div className="card-head">
        <h2>
          {r.name} <StatusBadge status={r.status} partlyFailed={partlyFailedOf(r.summary)} />
        </h2>
        <div className="card-actions">
          {r.stages.some((st) => st.kind === "rollout") && (
            <Link to="/projects/$projectId/runs/$runId/samples" params={params} className="button secondary" data-testid="run-samples-link">
              Browse samples
            </Link>
          )}
          {canRequeue && (
            <button type="button" className="secondary" disabled={requeue.isPending} onClick={() => requeue.mutate()} data-testid="run-requeue">
              {requeue.isPending ? "Re-queuing…" : "Re-queue (only what is missing)"}
            </button>
          )}
          {canCancel && (
            <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()} data-testid="run-cancel">
              {cancel.isPending ? "Cancelling…" : "Cancel run"}
            </button>
          )}
        </div>
      </div>
      {(cancel.isError || requeue.isError) && (
        <p className="error" role="alert" data-testid="run-action-error">
          {errorMessage(cancel.error ?? requeue.error)}
        </p>
      )}
      <dl className="facts">
        <dt>Created</dt>
        <dd>{formatTime(r.created_at)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(r.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(r.finished_at)}</dd>
        <dt>Elapsed</dt>
        <dd data-testid="run-elapsed">{formatDuration(r.started_at, r.finished_at, now)}</dd>
      </dl>
      {r.error && (
        <p className="error" data-testid="run-error-text">
          {r.error}
        </p>
      )}
      {r.warnings.length > 0 && (
        <ul className="warnings">
          {r.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}

      <h3>Stages {live && <span className="live-dot" title="updating live" data-testid="live" />}</h3>
      <StageTimeline
        stages={r.stages}
        now={now}
        action={(st) =>
          editable(st) && (
            <button type="button" className="secondary small" onClick={() => setEditing(st.id)} data-testid={`stage-edit-${st.kind}`}>
              Edit settings and resume
            </button>
          )
        }
      />
      {edited && <StageResume key={edited.id} projectId={projectId} run={r} stage={edited} onDone={onDone} onClose={() => setEditing(null)} />}
      {smoke && <SmokeSample projectId={projectId} run={r} smoke={smoke} canDecide={maintainer && !isFinished(r.status)} onDone={onDone} />}

      <RunMetrics run={r} />
      <RolloutTeachers projectId={projectId} summary={r.summary} />

      {s.profile && <ProfileTable profile={s.profile} />}

      {train && (
        <>
          <h3>Training {training && <span className="live-dot" title="updating live" data-testid="training-live" />}</h3>
          <TrainingCurves
            train={train}
            live={training}
            checkpoints={s.evaluate?.checkpoints ?? curve.data}
            checkpointsAsked={Boolean(recipeEval?.checkpoints)}
          />
        </>
      )}

      {hasEvaluate && (
        <>
          <h3>Evaluation</h3>
          {summarised.length > 0 ? (
            <EvaluationComparison scores={summarised} comparison={s.evaluate?.comparison} />
          ) : evaluations.isError ? (
            <p className="error" role="alert">
              {errorMessage(evaluations.error)}
            </p>
          ) : evaluations.isPending ? (
            <p className="muted">Loading evaluations…</p>
          ) : (
            <EvaluationComparison scores={evaluations.data.flatMap((e) => (e.metrics ? [e.metrics] : []))} />
          )}
        </>
      )}

      <Artifacts projectId={projectId} runId={runId} summary={s} />
    </section>
  );
}
