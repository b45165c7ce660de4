import type { ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "@tanstack/react-router";
import { api } from "../api/client";
import { clearToken } from "../api/token";
import { setTheme, useTheme } from "../theme";
import { StatusBadge } from "./StatusBadge";
import { meQuery, myInvitationsQuery, projectQuery, runQuery } from "../api/queries";

/** The page frame: top bar, then (inside a project) the project tabs and (inside a run) the run tabs. */
export function Layout({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const params = useParams({ strict: false });
  const me = useQuery({
    ...meQuery(),
    staleTime: 60_000,
  });

  // Pending invitations to the caller, on every page: a sign-in that lands elsewhere than the projects
  // page (its ?next=) still shows that someone is waiting for an answer.
  const invitations = useQuery({ ...myInvitationsQuery(), staleTime: 60_000 });
  const waiting = invitations.data?.length ?? 0;

  const signOut = async () => {
    try {
      await api.POST("/api/auth/logout");
    } catch {
      // The token is forgotten locally either way.
    }
    clearToken();
    queryClient.clear();
    void navigate({ to: "/login" });
  };

  return (
    <div className="app">
      <header className="topbar">
        <Link to="/projects" className="brand" data-testid="nav-projects">
          Distillery
        </Link>
        <div className="topbar-right">
          <ThemeToggle />
          {waiting > 0 && (
            <Link to="/projects" className="link-button" data-testid="nav-invitations">
              Invitations ({waiting})
            </Link>
          )}
          {me.data?.is_admin && (
            <Link to="/users" className="link-button" data-testid="nav-users">
              Users
            </Link>
          )}
          {me.data && (
            <span className="topbar-user" data-testid="current-user">
              {me.data.name || me.data.email}
            </span>
          )}
          <button type="button" className="link-button" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      {params.projectId !== undefined && <ProjectNav projectId={params.projectId} />}
      {params.projectId !== undefined && params.runId !== undefined && (
        <RunNav projectId={params.projectId} runId={params.runId} />
      )}
      <main className="content">{children}</main>
    </div>
  );
}

export function ThemeToggle() {
  const theme = useTheme();
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      className="link-button"
      onClick={() => setTheme(next)}
      aria-label={`Switch to ${next} theme`}
      title={`Switch to ${next} theme`}
      data-testid="theme-toggle"
      data-theme={theme}
    >
      {theme === "dark" ? "☀ Light" : "☾ Dark"}
    </button>
  );
}

function ProjectNav({ projectId }: { projectId: number }) {
  const project = useQuery(projectQuery(projectId));
  const p = { projectId };
  const active = { className: "active" };
  return (
    <nav className="subnav project-nav" aria-label="Project" data-testid="project-nav">
      <Link to="/projects" className="subnav-crumb">
        Projects
      </Link>
      <span className="subnav-sep">/</span>
      <Link to="/projects/$projectId" params={p} className="subnav-title" data-testid="nav-project-name">
        {project.data?.name ?? `Project ${projectId}`}
      </Link>
      <div className="subnav-tabs">
        <Link to="/projects/$projectId" params={p} activeOptions={{ exact: true }} activeProps={active} data-testid="nav-runs">
          Runs
        </Link>
        <Link to="/projects/$projectId/runs/new" params={p} activeProps={active} data-testid="nav-new-run">
          New run
        </Link>
        <Link to="/projects/$projectId/prompt-sets" params={p} activeProps={active} data-testid="nav-prompt-sets">
          Prompt sets
        </Link>
        <Link to="/projects/$projectId/judge" params={p} activeProps={active} data-testid="nav-judge">
          Judge
        </Link>
        <Link to="/projects/$projectId/experiments" params={p} activeProps={active} data-testid="nav-experiments">
          Experiments
        </Link>
        <Link to="/projects/$projectId/teachers" params={p} activeProps={active} data-testid="nav-teachers">
          Teachers
        </Link>
        <Link to="/projects/$projectId/members" params={p} activeProps={active} data-testid="nav-members">
          Members
        </Link>
        <Link to="/projects/$projectId/settings" params={p} activeProps={active} data-testid="nav-settings">
          Settings
        </Link>
      </div>
    </nav>
  );
}

function RunNav({ projectId, runId }: { projectId: number; runId: number }) {
  const run = useQuery(runQuery(projectId, runId));
  const p = { projectId, runId };
  const active = { className: "active" };
  return (
    <nav className="subnav run-nav" aria-label="Run" data-testid="run-nav">
      <span className="subnav-title" data-testid="nav-run-name">
        {run.data?.name ?? `Run ${runId}`}
      </span>
      {run.data && <StatusBadge status={run.data.status} />}
      <div className="subnav-tabs">
        <Link to="/projects/$projectId/runs/$runId" params={p} activeOptions={{ exact: true }} activeProps={active} data-testid="nav-run-overview">
          Overview
        </Link>
        <Link to="/projects/$projectId/runs/$runId/samples" params={p} activeProps={active} data-testid="nav-run-samples">
          Samples
        </Link>
        <Link to="/projects/$projectId/runs/$runId/review" params={p} activeProps={active} data-testid="nav-run-review">
          Review
        </Link>
        <Link to="/projects/$projectId/runs/$runId/evaluation" params={p} activeProps={active} data-testid="nav-run-evaluation">
          Evaluation
        </Link>
      </div>
    </nav>
  );
}
