import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { ApiError, type RunSummary } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { formatNumber, formatTime } from "../../lib/format";
import { atLeast } from "../../lib/roles";
import { ServedModels } from "../../components/ServedModels";
import { CardMarkdown } from "./CardMarkdown";
import { HubPush } from "./HubPush";
import { downloadWithToken } from "./download";
import { SnapshotTeachers } from "./TeacherCounts";
import { modelCardQuery, modelQuery, projectQuery, snapshotCardQuery, snapshotQuery } from "../../api/queries";

/** What the run made: its dataset snapshot (files to download, the card) and the trained model. */
export function Artifacts({ projectId, runId, summary }: { projectId: number; runId: number; summary: RunSummary }) {
  const snapshotId = summary.snapshot?.snapshot_id ?? null;
  const modelId = summary.train?.artifact_id ?? null;
  if (snapshotId == null && modelId == null) return null;
  return (
    <div className="artifacts" data-testid="artifacts">
      {snapshotId != null && <SnapshotLinks projectId={projectId} snapshotId={snapshotId} />}
      {modelId != null && <ModelLink projectId={projectId} runId={runId} modelId={modelId} />}
    </div>
  );
}

function SnapshotLinks({ projectId, snapshotId }: { projectId: number; snapshotId: number }) {
  const snap = useQuery(snapshotQuery(projectId, snapshotId));
  const card = useQuery({
    ...snapshotCardQuery(projectId, snapshotId),
    enabled: false,
  });
  // The files answer maintainers only (the API's check): others see why instead of a button that fails.
  const project = useQuery(projectQuery(projectId));
  const canDownload = atLeast(project.data?.role, "maintainer");
  const download = useMutation({
    mutationFn: async (name: string) => {
      const url = `/api/projects/${projectId}/snapshots/${snapshotId}/files/${encodeURIComponent(name)}`;
      try {
        await downloadWithToken(url, name);
      } catch (e) {
        // A teacher whose terms restrict training competing models: say so, and download on consent.
        if (e instanceof ApiError && e.code === "terms_not_acknowledged" && window.confirm(`${e.message}\n\nDownload anyway?`)) {
          await downloadWithToken(`${url}?acknowledge_terms=true`, name);
          return;
        }
        throw e;
      }
    },
  });
  return (
    <div className="artifact" data-testid="snapshot">
      <h4>Dataset snapshot #{snapshotId}</h4>
      {snap.isError && <p className="error">{errorMessage(snap.error)}</p>}
      {snap.data && (
        <>
          <p className="small muted">
            {snap.data.name} · {formatTime(snap.data.created_at)} · <code title={snap.data.content_hash}>{snap.data.content_hash.slice(0, 12)}</code>
            {Object.entries(snap.data.row_counts).map(([k, v]) => ` · ${k} ${formatNumber(Number(v))}`)}
          </p>
          <SnapshotTeachers teachers={snap.data.teachers ?? []} />
          {snap.data.teacher_logprobs && (
            <p className="small muted" data-testid="snapshot-logprobs">
              Teacher logprobs: top-{snap.data.teacher_logprobs.k} per token for {formatNumber(snap.data.teacher_logprobs.rows)} rows ·{" "}
              {snap.data.teacher_logprobs.teacher} · tokenizer{" "}
              <code title={snap.data.teacher_logprobs.tokenizer_hash}>{snap.data.teacher_logprobs.tokenizer_hash.slice(0, 12) || "unknown"}</code> ·{" "}
              from the {snap.data.teacher_logprobs.source}
            </p>
          )}
          <div className="card-actions">
            {canDownload && Object.keys(snap.data.files).map((name) => (
              <button
                key={name}
                type="button"
                className="secondary"
                disabled={download.isPending}
                onClick={() => download.mutate(name)}
                data-testid="snapshot-file"
              >
                {download.isPending && download.variables === name ? `Downloading ${name}…` : `⬇ ${name}`}
              </button>
            ))}
            {project.data && !canDownload && (
              <span className="muted small" data-testid="snapshot-files-role">
                Files download for maintainers; you are a {project.data.role} here.
              </span>
            )}
            <button type="button" className="secondary" onClick={() => void card.refetch()} data-testid="snapshot-card-button">
              {card.isFetching ? "Loading card…" : "Dataset card"}
            </button>
          </div>
        </>
      )}
      <HubPush projectId={projectId} kind="snapshot" objectId={snapshotId} canPush={canDownload} />
      {download.isError && (
        <p className="error" role="alert">
          {errorMessage(download.error)}
        </p>
      )}
      {card.isError && (
        <p className="error" role="alert">
          {errorMessage(card.error)}
        </p>
      )}
      {card.data && (
        <details open className="snapshot-card" data-testid="snapshot-card">
          <summary>README.md</summary>
          <CardMarkdown text={card.data} />
        </details>
      )}
    </div>
  );
}

function ModelLink({ projectId, runId, modelId }: { projectId: number; runId: number; modelId: number }) {
  const model = useQuery(modelQuery(projectId, modelId));
  // fetched on request and always afresh: the API renders it from the evaluations stored now
  const card = useQuery({ ...modelCardQuery(projectId, modelId), enabled: false, staleTime: 0 });
  const project = useQuery(projectQuery(projectId));
  return (
    <div className="artifact" data-testid="model">
      <h4>Trained model #{modelId}</h4>
      {model.isError && <p className="error">{errorMessage(model.error)}</p>}
      {model.data && (
        <p className="small">
          {model.data.method} on <code>{model.data.base_model}</code> · saved at <code data-testid="model-path">{model.data.path}</code> · name it{" "}
          <code data-testid="model-ref" title="as a teacher, student or evaluated model in this project">artifact:{modelId}</code> ·{" "}
          <Link to="/projects/$projectId/runs/$runId/evaluation" params={{ projectId, runId }}>
            per-prompt evaluation
          </Link>
        </p>
      )}
      <div className="card-actions">
        <button type="button" className="secondary" onClick={() => void card.refetch()} data-testid="model-card-button">
          {card.isFetching ? "Loading card…" : "Model card"}
        </button>
      </div>
      <HubPush projectId={projectId} kind="model" objectId={modelId} canPush={atLeast(project.data?.role, "maintainer")} />
      <ServedModels projectId={projectId} artifactId={modelId} />
      {card.isError && (
        <p className="error" role="alert">
          {errorMessage(card.error)}
        </p>
      )}
      {card.data && (
        <details open className="snapshot-card" data-testid="model-card">
          <summary>README.md</summary>
          <CardMarkdown text={card.data} />
        </details>
      )}
    </div>
  );
}
