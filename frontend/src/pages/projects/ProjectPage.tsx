import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import type { RunListItem } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { LaunchRollout } from "../../components/LaunchRollout";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDuration, formatTime, isFinished } from "../../lib/format";
import { IDLE_REFRESH_MS, LIVE_REFRESH_MS } from "../../lib/live";
import { atLeast } from "../../lib/roles";
import { projectQuery, runsQuery } from "../../api/queries";

export { IDLE_REFRESH_MS, LIVE_REFRESH_MS };
const PAGE_SIZE = 50;

export function runsRefetchInterval(runs: RunListItem[] | undefined): number {
  return runs?.some((r) => !isFinished(r.status)) ? LIVE_REFRESH_MS : IDLE_REFRESH_MS;
}

/** A project's runs, newest first, refreshed live; maintainers also get the quick rollout form. */
export function ProjectPage({ projectId }: { projectId: number }) {
  const navigate = useNavigate();
  const project = useQuery(projectQuery(projectId));

  const runs = useInfiniteQuery({
    ...runsQuery(projectId, PAGE_SIZE),
    // Live refresh: poll every 2s while any listed run is not finished, and
    // slowly otherwise so runs created elsewhere still show up.
    refetchInterval: (query) => runsRefetchInterval(query.state.data?.pages.flatMap((p) => p.items)),
    refetchIntervalInBackground: false,
  });

  const allRuns = runs.data?.pages.flatMap((p) => p.items) ?? [];

  if (project.isError) {
    return (
      <p className="error" role="alert" data-testid="project-error">
        {errorMessage(project.error)}
      </p>
    );
  }

  const maintainer = atLeast(project.data?.role, "maintainer");
  return (
    <>
      <div className="page-head">
        <h1 data-testid="project-name">{project.data?.name ?? "…"}</h1>
        {maintainer && (
          <Link to="/projects/$projectId/runs/new" params={{ projectId }} className="button" data-testid="new-run-link">
            New run
          </Link>
        )}
      </div>
      {project.data?.description && <p className="muted">{project.data.description}</p>}
      {maintainer && <LaunchRollout projectId={projectId} />}

      <section className="card">
        <div className="card-head">
          <h2>Runs</h2>
          <div className="card-actions">
            {runs.isFetching && <span className="muted small" data-testid="runs-refreshing">refreshing…</span>}
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
                  className="clickable"
                  onClick={() => void navigate({ to: "/projects/$projectId/runs/$runId", params: { projectId, runId: r.id } })}
                  data-testid="run-row"
                  data-run-id={r.id}
                  data-run-status={r.status}
                >
                  <td>
                    <Link
                      to="/projects/$projectId/runs/$runId"
                      params={{ projectId, runId: r.id }}
                      onClick={(e) => e.stopPropagation()}
                      data-testid="run-name"
                    >
                      {r.name}
                    </Link>
                  </td>
                  <td>
                    <StatusBadge status={r.status} partlyFailed={r.partly_failed} />
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
    </>
  );
}
