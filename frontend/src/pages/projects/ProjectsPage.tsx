import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { formatTime } from "../../lib/format";
import { Link, useNavigate } from "@tanstack/react-router";
import { MyInvitations } from "./MyInvitations";
import { keys, projectsQuery } from "../../api/queries";

export function ProjectsPage() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const projects = useQuery(projectsQuery());

  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: (body: { name: string; description: string }) => unwrap(api.POST("/api/projects", { body })),
    onSuccess: (project) => {
      setName("");
      setDescription("");
      void queryClient.invalidateQueries({ queryKey: keys.projects() });
      void navigate({ to: "/projects/$projectId", params: { projectId: project.id } });
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: name.trim(), description: description.trim() });
  };

  return (
    <>
      <h1>Projects</h1>
      <MyInvitations />
      <section className="card">
        {projects.isPending && <p className="muted">Loading projects…</p>}
        {projects.isError && (
          <p className="error" role="alert">
            {errorMessage(projects.error)}
          </p>
        )}
        {projects.data && projects.data.length === 0 && (
          <p className="muted" data-testid="projects-empty">
            No projects yet. Create one below.
          </p>
        )}
        {projects.data && projects.data.length > 0 && (
          <table className="table" data-testid="projects-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>Your role</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {projects.data.map((p) => (
                <tr key={p.id} data-testid="project-row" data-project-id={p.id}>
                  <td>
                    <Link to="/projects/$projectId" params={{ projectId: p.id }} data-testid="project-link">
                      {p.name}
                    </Link>
                  </td>
                  <td className="muted">{p.description}</td>
                  <td>
                    <span className={`role role-${p.role ?? "none"}`} data-testid="project-role">
                      {p.role ?? "—"}
                    </span>
                  </td>
                  <td className="nowrap">{formatTime(p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="card">
        <h2>New project</h2>
        <form className="inline-form" onSubmit={submit} data-testid="new-project-form">
          <label>
            Name
            <input
              required
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.target.value)}
              data-testid="new-project-name"
            />
          </label>
          <label className="grow">
            Description
            <input
              maxLength={10000}
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              data-testid="new-project-description"
            />
          </label>
          <button type="submit" disabled={create.isPending || !name.trim()} data-testid="new-project-submit">
            {create.isPending ? "Creating…" : "Create project"}
          </button>
        </form>
        {create.isError && (
          <p className="error" role="alert" data-testid="new-project-error">
            {errorMessage(create.error)}
          </p>
        )}
      </section>
    </>
  );
}
