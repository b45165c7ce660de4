import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  api,
  unwrap,
  type LengthSummary,
  type ProfileSummary,
  type Project,
  type Role,
  type Run,
  type RunDetail,
  type Stage,
} from "../api/client";
import { errorMessage } from "../api/errors";
import { Generations } from "../components/Generations";
import { LaunchRollout } from "../components/LaunchRollout";
import { ProgressBar } from "../components/ProgressBar";
import { partlyFailedOf, StatusBadge } from "../components/StatusBadge";
import {
  formatDuration,
  formatMetric,
  formatNumber,
  formatTime,
  isFinished,
  percentileKeys,
} from "../lib/format";
import { Link, navigate } from "../router";

/** How often lists and runs refresh while anything is still in flight. */
export const LIVE_REFRESH_MS = 2000;
/** Slower poll when every listed run is finished, so newly created runs still appear. */
export const IDLE_REFRESH_MS = 10000;
const PAGE_SIZE = 50;
const ROLE_ORDER: Role[] = ["viewer", "reviewer", "maintainer", "owner"];

function atLeast(role: Role | null | undefined, needed: Role): boolean {
  if (!role) return false;
  return ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(needed);
}

export function runsRefetchInterval(runs: Run[] | undefined): number {
  return runs?.some((r) => !isFinished(r.status)) ? LIVE_REFRESH_MS : IDLE_REFRESH_MS;
}

export function ProjectPage({ projectId, runId }: { projectId: number; runId: number | null }) {
  const project = useQuery({
    queryKey: ["project", projectId],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}", { params: { path: { project_id: projectId } } })),
  });

  const runs = useInfiniteQuery({
    queryKey: ["runs", projectId],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs", {
          params: { path: { project_id: projectId }, query: { limit: PAGE_SIZE, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? null,
    // Live refresh: poll every 2s while any listed run is not finished, and
    // slowly otherwise so runs created elsewhere still show up.
    refetchInterval: (query) => runsRefetchInterval(query.state.data?.pages.flatMap((p) => p.items)),
    refetchIntervalInBackground: false,
  });

  const allRuns = runs.data?.pages.flatMap((p) => p.items) ?? [];

  if (project.isError) {
    return (
      <>
        <Breadcrumbs />
        <p className="error" role="alert" data-testid="project-error">
          {errorMessage(project.error)}
        </p>
      </>
    );
  }

  return (
    <>
      <Breadcrumbs project={project.data} />
      <h1 data-testid="project-name">{project.data?.name ?? "…"}</h1>
      {project.data?.description && <p className="muted">{project.data.description}</p>}
      {atLeast(project.data?.role, "maintainer") && <LaunchRollout projectId={projectId} />}

      <div className={runId ? "split" : ""}>
        <section className="card">
          <div className="card-head">
            <h2>Runs</h2>
            <div className="card-actions">
              {runs.isFetching && <span className="muted small" data-testid="runs-refreshing">refreshing…</span>}
              <button type="button" className="secondary" onClick={() => void runs.refetch()} data-testid="runs-refresh">
                Refresh
              </button>
            </div>
          </div>
          {runs.isPending && <p className="muted">Loading runs…</p>}
          {runs.isError && (
            <p className="error" role="alert">
              {errorMessage(runs.error)}
            </p>
          )}
          {runs.isSuccess && allRuns.length === 0 && (
            <p className="muted" data-testid="runs-empty">
              No runs yet.
            </p>
          )}
          {allRuns.length > 0 && (
            <table className="table runs-table" data-testid="runs-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th>Duration</th>
                </tr>
              </thead>
              <tbody>
                {allRuns.map((r) => (
                  <tr
                    key={r.id}
                    className={`clickable${r.id === runId ? " selected" : ""}`}
                    onClick={() => navigate(`/projects/${projectId}/runs/${r.id}`)}
                    data-testid="run-row"
                    data-run-id={r.id}
                    data-run-status={r.status}
                  >
                    <td>
                      <Link
                        to={`/projects/${projectId}/runs/${r.id}`}
                        onClick={(e) => e.stopPropagation()}
                        data-testid="run-name"
                      >
                        {r.name}
                      </Link>
                    </td>
                    <td>
                      <StatusBadge status={r.status} partlyFailed={partlyFailedOf(r.summary)} />
                    </td>
                    <td className="nowrap">{formatTime(r.created_at)}</td>
                    <td className="nowrap">{formatDuration(r.started_at, r.finished_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {runs.hasNextPage && (
            <button
              type="button"
              className="secondary"
              disabled={runs.isFetchingNextPage}
              onClick={() => void runs.fetchNextPage()}
              data-testid="runs-more"
            >
              {runs.isFetchingNextPage ? "Loading…" : "Load older runs"}
            </button>
          )}
        </section>

        {runId !== null && <RunPanel projectId={projectId} runId={runId} role={project.data?.role ?? null} />}
      </div>
    </>
  );
}

function Breadcrumbs({ project }: { project?: Project }) {
  return (
    <nav className="breadcrumbs">
      <Link to="/projects">Projects</Link>
      {project && (
        <>
          {" / "}
          <Link to={`/projects/${project.id}`}>{project.name}</Link>
        </>
      )}
    </nav>
  );
}

function RunPanel({ projectId, runId, role }: { projectId: number; runId: number; role: Role | null }) {
  const queryClient = useQueryClient();
  const path = { project_id: projectId, run_id: runId };
  const run = useQuery({
    queryKey: ["run", projectId, runId],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/runs/{run_id}", { params: { path } })),
    refetchInterval: (query) => {
      const data = query.state.data;
      return data && isFinished(data.status) ? false : LIVE_REFRESH_MS;
    },
  });

  const requeue = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/requeue", { params: { path } })),
    onSuccess: (detail) => {
      queryClient.setQueryData(["run", projectId, runId], detail);
      void queryClient.invalidateQueries({ queryKey: ["runs", projectId] });
    },
  });

  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/{run_id}/cancel", { params: { path } })),
    onSuccess: (detail) => {
      queryClient.setQueryData(["run", projectId, runId], detail);
      void queryClient.invalidateQueries({ queryKey: ["runs", projectId] });
    },
  });

  if (run.isPending) {
    return (
      <section className="card run-panel">
        <p className="muted">Loading run…</p>
      </section>
    );
  }
  if (run.isError) {
    return (
      <section className="card run-panel">
        <p className="error" role="alert" data-testid="run-error">
          {errorMessage(run.error)}
        </p>
      </section>
    );
  }

  const r: RunDetail = run.data;
  const canCancel = !isFinished(r.status) && r.status !== "cancelling" && (role === null || atLeast(role, "maintainer"));
  const canRequeue = (r.status === "failed" || r.status === "cancelled") && (role === null || atLeast(role, "maintainer"));
  const profile = r.summary.profile ?? null;
  const hasRollout = r.stages.some((s) => s.kind === "rollout");

  return (
    <section className="card run-panel" data-testid="run-detail" data-run-id={r.id} data-run-status={r.status}>
      <div className="card-head">
        <h2>
          {r.name} <StatusBadge status={r.status} partlyFailed={partlyFailedOf(r.summary)} />
        </h2>
        <div className="card-actions">
          {canRequeue && (
            <button
              type="button"
              className="secondary"
              disabled={requeue.isPending}
              onClick={() => requeue.mutate()}
              data-testid="run-requeue"
            >
              {requeue.isPending ? "Re-queuing…" : "Re-queue (only what is missing)"}
            </button>
          )}
          {canCancel && (
            <button
              type="button"
              className="danger"
              disabled={cancel.isPending}
              onClick={() => cancel.mutate()}
              data-testid="run-cancel"
            >
              {cancel.isPending ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          <Link to={`/projects/${projectId}`} className="small">
            close
          </Link>
        </div>
      </div>
      {(cancel.isError || requeue.isError) && (
        <p className="error" role="alert">
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
        <dt>Duration</dt>
        <dd>{formatDuration(r.started_at, r.finished_at)}</dd>
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

      <h3>Stages</h3>
      {r.stages.length === 0 ? (
        <p className="muted">No stages.</p>
      ) : (
        <ol className="stages" data-testid="stages">
          {[...r.stages]
            .sort((a, b) => a.position - b.position)
            .map((s) => (
              <StageItem key={s.id} stage={s} />
            ))}
        </ol>
      )}

      {profile && <ProfileTable profile={profile} />}
      {hasRollout && <Generations projectId={projectId} runId={r.id} live={!isFinished(r.status)} />}
    </section>
  );
}

export function StageItem({ stage }: { stage: Stage }) {
  const metrics = Object.entries(stage.metrics ?? {});
  return (
    <li className="stage" data-testid="stage" data-stage-kind={stage.kind} data-stage-status={stage.status}>
      <div className="stage-head">
        <strong>{stage.kind}</strong>
        <StatusBadge status={stage.status} partlyFailed={partlyFailedOf(stage.metrics)} />
        <span className="muted small">{formatDuration(stage.started_at, stage.finished_at)}</span>
      </div>
      <ProgressBar done={stage.progress_done} total={stage.progress_total} label={`${stage.kind} progress`} />
      {stage.error && <p className="error small">{stage.error}</p>}
      {stage.workers_lost > 0 && !stage.error && (
        <p className="muted small" data-testid={`stage-${stage.id}-workers-lost`}>
          re-queued after its worker was lost ({stage.workers_lost}×)
        </p>
      )}
      {metrics.length > 0 && (
        <dl className="metrics">
          {metrics.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{formatMetric(v)}</dd>
            </div>
          ))}
        </dl>
      )}
    </li>
  );
}

export function ProfileTable({ profile }: { profile: ProfileSummary }) {
  const rows: [string, LengthSummary][] = [
    ["characters", profile.chars],
    ["words", profile.words],
  ];
  const keys = percentileKeys(rows.map(([, s]) => s));
  return (
    <div className="profile" data-testid="profile">
      <h3>
        Profile: <span data-testid="profile-prompt-count">{formatNumber(profile.prompt_count)}</span> prompts
      </h3>
      {rows.length > 0 && (
        <table className="table compact">
          <thead>
            <tr>
              <th>length</th>
              <th>min</th>
              {keys.map((k) => (
                <th key={k}>{k}</th>
              ))}
              <th>max</th>
              <th>mean</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([unit, s]) => (
              <tr key={unit} data-testid={`profile-${unit}`}>
                <td>{unit}</td>
                <td>{formatNumber(s.min)}</td>
                {keys.map((k) => (
                  <td key={k}>{s.percentiles[k] === undefined ? "—" : formatNumber(s.percentiles[k])}</td>
                ))}
                <td>{formatNumber(s.max)}</td>
                <td>{formatNumber(s.mean)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
