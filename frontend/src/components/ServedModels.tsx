import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { errorMessage } from "../api/errors";
import { formatTime } from "../lib/format";
import { atLeast } from "../lib/roles";
import { keys, projectQuery, servedQuery } from "../api/queries";

type Served = Schemas["ServedOut"];
const LIVE: Served["status"][] = ["queued", "starting", "running", "stopping"];

/** Served models (a vLLM server over a trained student, registered as a teacher): their status, URL and
 * teacher, a Stop button for maintainers; with `artifactId`, only that model's, and a Serve button.
 * Polls while one is on its way up or down. */
export function ServedModels({ projectId, artifactId }: { projectId: number; artifactId?: number }) {
  const qc = useQueryClient();
  const project = useQuery(projectQuery(projectId));
  const canServe = atLeast(project.data?.role, "maintainer");
  const [name, setName] = useState("");
  const served = useQuery({
    ...servedQuery(projectId),
    refetchInterval: (q) => (q.state.data?.items.some((s) => LIVE.includes(s.status) && s.status !== "running") ? 2000 : 15000),
  });
  const rows = (served.data?.items ?? []).filter((s) => artifactId === undefined || s.artifact_id === artifactId);
  const shown = artifactId === undefined ? rows.filter((s) => LIVE.includes(s.status)) : rows.slice(0, 5);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: keys.served(projectId) });
    void qc.invalidateQueries({ queryKey: keys.teachers(projectId) });
  };
  const serve = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/models/{model_id}/serve", {
          params: { path: { project_id: projectId, model_id: artifactId! } },
          body: name.trim() ? { name: name.trim() } : {},
        }),
      ),
    onSuccess: refresh,
  });
  const stop = useMutation({
    mutationFn: (servedId: number) =>
      unwrap(api.DELETE("/api/projects/{project_id}/served/{served_id}", { params: { path: { project_id: projectId, served_id: servedId } } })),
    onSuccess: refresh,
  });
  const live = rows.some((s) => LIVE.includes(s.status));
  if (artifactId === undefined && shown.length === 0) return null;
  return (
    <div className={artifactId === undefined ? "served card" : "served"} data-testid="served-models">
      {artifactId === undefined && <h3>Served students</h3>}
      {artifactId !== undefined && canServe && !live && (
        <div className="card-actions">
          <input
            aria-label="Served name"
            placeholder={`student-${artifactId}`}
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="serve-name"
          />
          <button type="button" disabled={serve.isPending} onClick={() => serve.mutate()} data-testid="serve-button">
            {serve.isPending ? "Queuing…" : "Serve"}
          </button>
        </div>
      )}
      {serve.isError && (
        <p className="error" role="alert">
          {errorMessage(serve.error)}
        </p>
      )}
      {stop.isError && (
        <p className="error" role="alert">
          {errorMessage(stop.error)}
        </p>
      )}
      {shown.length > 0 && (
        <table className="table" data-testid="served-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>URL</th>
              <th>Since</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.id} data-testid="served-row">
                <td>
                  {s.adapters.map((a) => a.name).join(", ") || s.name}
                  {artifactId === undefined && s.artifact_id != null && <span className="muted small"> · model #{s.artifact_id}</span>}
                </td>
                <td>
                  <span className={`status status-${s.status}`} data-testid="served-status">
                    {s.status}
                  </span>
                  {s.error && (
                    <div className="small error" data-testid="served-error">
                      {String(s.error.message ?? "")}
                    </div>
                  )}
                </td>
                <td>
                  {s.base_url ? (
                    <code data-testid="served-url" title={s.teacher_id != null ? `teacher #${s.teacher_id}: pick it as a run's teacher or judge` : undefined}>
                      {s.base_url}
                    </code>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="small muted">{formatTime(s.started_at ?? s.created_at)}</td>
                <td>
                  {canServe && LIVE.includes(s.status) && s.status !== "stopping" && (
                    <button
                      type="button"
                      className="secondary"
                      disabled={stop.isPending}
                      onClick={() => stop.mutate(s.id)}
                      data-testid="served-stop"
                    >
                      Stop
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
