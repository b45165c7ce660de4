import { useEffect, useState } from "react";
import { Link } from "@tanstack/react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { hubPushesQuery, hubSettingsQuery, keys } from "../../api/queries";
import { isFinished } from "../../lib/format";
import { useJob } from "../../lib/jobs";

type Kind = "snapshot" | "model";
type Push = Schemas["HubPushOut"];

/** The Hub's rule for a repository id (backend/hub/schemas.py REPO_ID), checked before sending. */
export const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export function repoIdProblem(repoId: string): string | null {
  if (!REPO_ID.test(repoId)) return "namespace/name: letters, digits, '-', '_' or '.', each part starting with a letter or digit";
  if (repoId.includes("--") || repoId.includes("..") || repoId.endsWith(".git")) return "no '--' or '..', and no '.git' at the end";
  return null;
}

/** The last push's line: where it went (a link once it succeeded), or how it is going / why it failed. */
export function PushLine({ push }: { push: Push }) {
  if (push.url && push.status === "succeeded")
    return (
      <span data-testid="hub-pushed">
        on the Hub:{" "}
        <a href={push.url} target="_blank" rel="noreferrer" data-testid="hub-pushed-url">
          {push.url}
        </a>{" "}
        {push.private ? "(private)" : "(public)"}
      </span>
    );
  if (push.status === "failed")
    return (
      <span className="error" data-testid="hub-push-failed">
        push to {push.repo_id} failed: {(push.error as { message?: string } | null)?.message ?? "unknown error"}
      </span>
    );
  return <span className="muted">pushing to {push.repo_id}… ({push.status})</span>;
}

/**
 * A snapshot's or model's pushes to the Hub, and for maintainers a Push button opening a dialog (repository
 * id, private); the push runs as a job, followed here until the URL shows. A teacher whose terms restrict
 * training competing models asks for consent first, as the download does.
 */
export function HubPush({ projectId, kind, objectId, canPush }: { projectId: number; kind: Kind; objectId: number; canPush: boolean }) {
  const qc = useQueryClient();
  const pushes = useQuery(hubPushesQuery(projectId, kind, objectId));
  const settings = useQuery({ ...hubSettingsQuery(projectId), enabled: canPush });
  const [open, setOpen] = useState(false);
  const [repoId, setRepoId] = useState("");
  const [isPrivate, setPrivate] = useState(true);
  const [jobId, setJobId] = useState<number | null>(null);
  const job = useJob(projectId, jobId);
  const finished = job.data !== undefined && isFinished(job.data.status);
  useEffect(() => {
    if (finished) void qc.invalidateQueries({ queryKey: keys.hubPushes(projectId) });
  }, [finished, qc, projectId]);

  const send = (acknowledge: boolean) =>
    unwrap(
      kind === "snapshot"
        ? api.POST("/api/projects/{project_id}/snapshots/{snapshot_id}/push", {
            params: { path: { project_id: projectId, snapshot_id: objectId } },
            body: { repo_id: repoId, private: isPrivate, acknowledge_terms: acknowledge },
          })
        : api.POST("/api/projects/{project_id}/models/{model_id}/push", {
            params: { path: { project_id: projectId, model_id: objectId } },
            body: { repo_id: repoId, private: isPrivate, acknowledge_terms: acknowledge },
          }),
    );
  const push = useMutation({
    mutationFn: async () => {
      try {
        return await send(false);
      } catch (e) {
        if (e instanceof ApiError && e.code === "terms_not_acknowledged" && window.confirm(`${e.message}\n\nPush anyway?`)) return send(true);
        throw e;
      }
    },
    onSuccess: (p) => {
      setJobId(p.job_id ?? null);
      setOpen(false);
      void qc.invalidateQueries({ queryKey: keys.hubPushes(projectId) });
    },
  });
  const problem = repoId ? repoIdProblem(repoId) : null;
  const running = jobId !== null && !finished;
  const latest = pushes.data?.[0];
  const noToken = settings.data && !settings.data.has_token;

  return (
    <div className="hub-push" data-testid={`hub-push-${kind}`}>
      {latest && (
        <p className="small">
          <PushLine push={latest} />
        </p>
      )}
      {running && (
        <p className="small muted" data-testid="hub-push-running">
          Pushing… step {job.data?.progress_done ?? 0} of {job.data?.progress_total ?? 4}
        </p>
      )}
      {canPush && !open && (
        <button type="button" className="secondary" onClick={() => setOpen(true)} disabled={running} data-testid="hub-push-open">
          Push to the Hub
        </button>
      )}
      {canPush && open && (
        <form
          className="card hub-push-dialog"
          role="dialog"
          aria-label={`Push the ${kind} to the Hub`}
          data-testid="hub-push-dialog"
          onSubmit={(e) => {
            e.preventDefault();
            push.mutate();
          }}
        >
          <h4>Push the {kind} to {settings.data?.endpoint ?? "the Hub"}</h4>
          {noToken && (
            <p className="error small" data-testid="hub-push-no-token">
              This project has no Hub token yet: set one in the <Link to="/projects/$projectId/settings" params={{ projectId }}>project settings</Link>.
            </p>
          )}
          <label>
            Repository ({kind === "snapshot" ? "a dataset" : "a model"} repository)
            <input
              data-testid="hub-push-repo"
              value={repoId}
              placeholder="your-org/name"
              onChange={(e) => setRepoId(e.target.value.trim())}
              required
              aria-invalid={problem !== null}
            />
          </label>
          {problem && (
            <p className="error small" data-testid="hub-push-repo-problem">
              {problem}
            </p>
          )}
          <label className="inline">
            <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} data-testid="hub-push-private" /> private
            repository
          </label>
          <div className="card-actions">
            <button type="submit" disabled={!repoId || problem !== null || push.isPending} data-testid="hub-push-submit">
              {push.isPending ? "Queueing…" : "Push"}
            </button>
            <button type="button" className="secondary" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {push.isError && (
        <p className="error" role="alert" data-testid="hub-push-error">
          {errorMessage(push.error)}
        </p>
      )}
    </div>
  );
}
