import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { errorMessage, fieldMessage } from "../../api/errors";
import type { Schemas } from "../../api/client";
import { isFinished } from "../../lib/format";
import { usePromptSetJob } from "../../lib/jobs";
import { CleaningFields, DEFAULT_CLEANING, type CleaningOptions, type PromptSet } from "./CleaningFields";
import { ImportJobResult } from "./ImportJobResult";

type HubImportIn = Schemas["HubImportIn"];


/** The set's default name: the dataset's last path part (`openai/gsm8k` → `gsm8k`). */
export function hubName(dataset: string): string {
  return dataset.trim().replace(/\/+$/, "").split("/").pop() ?? "";
}

/** What the form posts: empty optional fields left out, so the API's defaults apply. */
export function hubBody(f: { dataset: string; config: string; split: string; revision: string; name: string; skipInvalid: boolean; cleaning: CleaningOptions }): HubImportIn {
  const body: HubImportIn = { dataset: f.dataset.trim(), name: f.name.trim(), skip_invalid: f.skipInvalid, options: f.cleaning };
  if (f.config.trim()) body.config = f.config.trim();
  if (f.split.trim()) body.split = f.split.trim();
  if (f.revision.trim()) body.revision = f.revision.trim();
  return body;
}

/**
 * Import a split of a Hub dataset (or of a local dataset repository folder the administrator allows) as a
 * new version: the worker streams it through datasets.load_dataset and the same checks as an upload.
 */
export function HubImport({ projectId, sets }: { projectId: number; sets: PromptSet[] }) {
  const [dataset, setDataset] = useState("");
  const [config, setConfig] = useState("");
  const [split, setSplit] = useState("train");
  const [revision, setRevision] = useState("");
  const [name, setName] = useState("");
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [cleaning, setCleaning] = useState<CleaningOptions>(DEFAULT_CLEANING);
  const [jobId, setJobId] = useState<number | null>(null);
  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/prompt-sets/hub", {
          params: { path: { project_id: projectId } },
          body: hubBody({ dataset, config, split, revision, name: name || hubName(dataset), skipInvalid, cleaning }),
        }),
      ),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = usePromptSetJob(projectId, jobId);
  const busy = start.isPending || (jobId !== null && !(job.data && isFinished(job.data.status)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!dataset.trim() || busy) return;
    setJobId(null);
    start.mutate();
  };
  const err = (p: string) => fieldMessage(start.error, p);
  const [open, setOpen] = useState(false);

  if (!open) {
    // Closed until asked for: the upload is the usual way in, and the page stays short.
    return (
      <section className="card" data-testid="hub-import">
        <button type="button" className="secondary" onClick={() => setOpen(true)} data-testid="hub-open">
          Import from the Hub…
        </button>
      </section>
    );
  }
  return (
    <section className="card" data-testid="hub-import">
      <h2>Import from the Hub</h2>
      <p className="muted small">
        A dataset split by its hub id (<code>openai/gsm8k</code>, config <code>main</code>), or a local dataset
        repository folder your administrator allows. It is streamed through the same column recognition, checks and
        cleaning as an upload; with the Hub offline only cached datasets can be read.
      </p>
      <form onSubmit={submit}>
        <div className="form-grid">
          <label>
            Dataset
            <input required maxLength={500} value={dataset} placeholder="openai/gsm8k" onChange={(e) => setDataset(e.target.value)} data-testid="hub-dataset" />
            {err("dataset") && <span className="field-error">{err("dataset")}</span>}
          </label>
          <label>
            Config
            <input maxLength={200} value={config} placeholder="(default)" onChange={(e) => setConfig(e.target.value)} data-testid="hub-config" />
            {err("config") && <span className="field-error">{err("config")}</span>}
          </label>
          <label>
            Split
            <input maxLength={200} value={split} onChange={(e) => setSplit(e.target.value)} data-testid="hub-split" />
            {err("split") && <span className="field-error">{err("split")}</span>}
          </label>
          <label>
            Revision
            <input maxLength={200} value={revision} placeholder="main" onChange={(e) => setRevision(e.target.value)} data-testid="hub-revision" />
          </label>
          <label>
            Name
            <input maxLength={200} value={name} placeholder={hubName(dataset) || "name"} onChange={(e) => setName(e.target.value)} data-testid="hub-name" />
            {err("name") && <span className="field-error">{err("name")}</span>}
          </label>
          <label className="check">
            <input type="checkbox" checked={skipInvalid} onChange={(e) => setSkipInvalid(e.target.checked)} />
            Skip bad rows (otherwise one bad row rejects the split)
          </label>
        </div>
        <CleaningFields value={cleaning} onChange={setCleaning} sets={sets} fieldError={(p) => err(`options.${p}`)} />
        <button type="submit" disabled={!dataset.trim() || busy} data-testid="hub-submit">
          {start.isPending ? "Starting…" : busy ? "Importing…" : "Import"}
        </button>
      </form>
      {start.isError && (
        <p className="error" role="alert" data-testid="hub-error">
          {errorMessage(start.error)}
        </p>
      )}
      {jobId !== null && <ImportJobResult projectId={projectId} job={job.data} error={job.error} />}
    </section>
  );
}
