import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { hubPushesQuery, hubSettingsQuery, keys, projectQuery } from "../../api/queries";
import { formatTime } from "../../lib/format";
import { atLeast } from "../../lib/roles";
import { PushLine } from "../run/HubPush";
import "./settings.css";

/**
 * The project's settings: the Hugging Face Hub it pushes to (its URL and a write-only token: stored
 * encrypted, never shown again, as a teacher's API key) and what it has pushed, with each repository's URL.
 */
export function ProjectSettingsPage({ projectId }: { projectId: number }) {
  const qc = useQueryClient();
  const project = useQuery(projectQuery(projectId));
  const hub = useQuery(hubSettingsQuery(projectId));
  const pushes = useQuery(hubPushesQuery(projectId));
  const canEdit = atLeast(project.data?.role, "maintainer");
  const [endpoint, setEndpoint] = useState<string | null>(null);
  const [token, setToken] = useState("");
  const [saved, setSaved] = useState(false);

  const done = (out: Schemas["HubSettingsOut"]) => {
    qc.setQueryData(keys.hubSettings(projectId), out);
    setToken("");
    setEndpoint(null);
    setSaved(true);
  };
  const save = useMutation({
    mutationFn: () => {
      const body: Schemas["HubSettingsUpdate"] = {};
      if (endpoint !== null) body.endpoint = endpoint;
      if (token) body.token = token;
      return unwrap(api.PATCH("/api/projects/{project_id}/hub", { params: { path: { project_id: projectId } }, body }));
    },
    onMutate: () => setSaved(false),
    onSuccess: done,
  });
  const clear = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/projects/{project_id}/hub/token", { params: { path: { project_id: projectId } } })),
    onMutate: () => setSaved(false),
    onSuccess: done,
  });
  const error = save.error ?? clear.error ?? hub.error ?? pushes.error;

  return (
    <div data-testid="settings-page">
      <h1>Project settings</h1>
      <form
        className="card settings-form"
        data-testid="hub-settings"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <h2>Hugging Face Hub</h2>
        <p className="small muted">
          Snapshots are pushed as dataset repositories and trained models as model repositories, with their cards (run page, Artifacts).
        </p>
        <div className="settings-grid">
          <label>
            Hub URL
            <input
              data-testid="hub-endpoint"
              value={endpoint ?? hub.data?.endpoint ?? ""}
              disabled={!canEdit}
              onChange={(e) => setEndpoint(e.target.value)}
              placeholder="https://huggingface.co"
            />
          </label>
          <label>
            Token <span className="small">(write-only: never shown again)</span>
            <input
              type="password"
              autoComplete="new-password"
              data-testid="hub-token"
              value={token}
              disabled={!canEdit}
              placeholder={hub.data?.has_token ? "a token is set: type a new one to replace it" : "hf_… (a token that may write)"}
              onChange={(e) => setToken(e.target.value)}
            />
          </label>
        </div>
        <p className="small" data-testid="hub-token-state">
          {hub.data?.has_token ? "A token is set." : "No token yet: pushes are refused until one is set."}
          {hub.data?.updated_at && ` Changed ${formatTime(hub.data.updated_at)}.`}
        </p>
        {error && (
          <p className="error" role="alert" data-testid="hub-settings-error">
            {errorMessage(error)}
          </p>
        )}
        {saved && (
          <p className="small" data-testid="hub-settings-saved">
            Saved.
          </p>
        )}
        {canEdit ? (
          <div className="card-actions">
            <button type="submit" disabled={save.isPending || (endpoint === null && !token)} data-testid="hub-save">
              {save.isPending ? "Saving…" : "Save"}
            </button>
            {hub.data?.has_token && (
              <button type="button" className="secondary" disabled={clear.isPending} onClick={() => clear.mutate()} data-testid="hub-clear-token">
                Remove the token
              </button>
            )}
          </div>
        ) : (
          project.data && <p className="muted small">Maintainers change these; you are a {project.data.role} here.</p>
        )}
      </form>
      <div className="card" data-testid="hub-pushes">
        <h2>Pushed</h2>
        {pushes.data && pushes.data.length === 0 && <p className="muted">Nothing pushed yet.</p>}
        {pushes.data && pushes.data.length > 0 && (
          <table className="table">
            <thead>
              <tr>
                <th>What</th>
                <th>Repository</th>
                <th>Where</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {pushes.data.map((p) => (
                <tr key={p.id} data-testid="hub-push-row">
                  <td>
                    {p.kind} #{p.object_id}
                  </td>
                  <td>
                    <code>{p.repo_id}</code>
                  </td>
                  <td className="small">
                    <PushLine push={p} />
                  </td>
                  <td className="small">{formatTime(p.pushed_at ?? p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
