import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { errorMessage, fieldMessage } from "../../api/errors";
import { uploadForm, type UploadProgress } from "../../api/upload";
import { ProgressBar } from "../../components/ProgressBar";
import { formatNumber, formatTime, isFinished } from "../../lib/format";
import { usePromptSetJob, type Job } from "../../lib/jobs";
import { atLeast } from "../../lib/roles";
import { CleaningFields, DEFAULT_CLEANING, type CleaningOptions, type PromptSet } from "./CleaningFields";
import { ColumnMappingFields } from "./ColumnMappingFields";
import { baseName, mappingField, peekFile, suggestMapping, type Mapping, type Peek } from "./columns";
import { HubImport } from "./HubImport";
import { ImportJobResult } from "./ImportJobResult";
import "./promptSets.css";
import { projectQuery, promptSetsQuery } from "../../api/queries";

export function usePromptSets(projectId: number) {
  return useQuery(promptSetsQuery(projectId));
}

export function useProject(projectId: number) {
  return useQuery(projectQuery(projectId));
}

/** Every version of every prompt set, and (for maintainers) the upload form. */
export function PromptSetsPage({ projectId }: { projectId: number }) {
  const sets = usePromptSets(projectId);
  const project = useProject(projectId);
  const byId = new Map((sets.data ?? []).map((s) => [s.id, s]));
  return (
    <>
      <h1>Prompt sets</h1>
      {atLeast(project.data?.role, "maintainer") && (
        <>
          <UploadPromptSet projectId={projectId} sets={sets.data ?? []} />
          <HubImport projectId={projectId} sets={sets.data ?? []} />
        </>
      )}
      <section className="card">
        <h2>Versions</h2>
        {sets.isPending && <p className="muted">Loading prompt sets…</p>}
        {sets.isError && (
          <p className="error" role="alert">
            {errorMessage(sets.error)}
          </p>
        )}
        {sets.data && sets.data.length === 0 && (
          <p className="muted" data-testid="prompt-sets-empty">
            No prompt sets yet.
          </p>
        )}
        {sets.data && sets.data.length > 0 && (
          <table className="table" data-testid="prompt-sets-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prompts</th>
                <th>Status</th>
                <th>Derived from</th>
                <th>Source</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {sets.data.map((s) => {
                const parent = s.parent_id !== null ? byId.get(s.parent_id) : undefined;
                return (
                  <tr key={s.id} data-testid="prompt-set-row" data-prompt-set-id={s.id}>
                    <td>
                      <Link
                        to="/projects/$projectId/prompt-sets/$promptSetId"
                        params={{ projectId, promptSetId: s.id }}
                        data-testid="prompt-set-link"
                      >
                        {s.name} v{s.version}
                      </Link>
                      {s.frozen && (
                        <span className="badge" title="A run uses this version: it can no longer change">
                          frozen
                        </span>
                      )}
                    </td>
                    <td className="num">{formatNumber(s.prompt_count)}</td>
                    <td>{s.status}</td>
                    <td>
                      {s.parent_id === null
                        ? "—"
                        : parent
                          ? `${parent.name} v${parent.version}`
                          : `#${s.parent_id}`}
                    </td>
                    <td className="muted clip">{s.source}</td>
                    <td className="nowrap">{formatTime(s.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}


/**
 * Upload a file as a new prompt-set version: the bytes' progress (XMLHttpRequest), then the import job's
 * progress until it ends, then its report (bad rows with their line and reason) and a link to the set.
 */
export function UploadPromptSet({ projectId, sets }: { projectId: number; sets: PromptSet[] }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [cleaning, setCleaning] = useState<CleaningOptions>(DEFAULT_CLEANING);
  const [sent, setSent] = useState<UploadProgress | null>(null);
  const [jobId, setJobId] = useState<number | null>(null);
  const [peek, setPeek] = useState<{ file: File; peek: Peek | null; error: string | null } | null>(null);
  const suggested = useMemo(() => suggestMapping(peek?.peek?.columns ?? []), [peek]);
  const [mapping, setMapping] = useState<Mapping>(suggested);

  useEffect(() => {
    // Read the chosen file's first rows for the mapping step; a newer choice wins over a slower read.
    if (!file) return;
    let stale = false;
    peekFile(file).then(
      (p) => !stale && setPeek({ file, peek: p, error: null }),
      (err: unknown) => !stale && setPeek({ file, peek: null, error: errorMessage(err) }),
    );
    return () => {
      stale = true;
    };
  }, [file]);
  useEffect(() => setMapping(suggested), [suggested]);
  const reading = file !== null && peek?.file !== file;
  // Columns were read and none is the prompt: the import would refuse every row, so ask first. (While
  // the rows are being read the upload may go: nothing has been changed from what the import recognises.)
  const needsPrompt = !reading && (peek?.peek?.columns.length ?? 0) > 0 && !mapping.prompt;

  const upload = useMutation({
    mutationFn: () => {
      const form = new FormData();
      form.append("file", file!);
      form.append("name", name.trim());
      form.append("skip_invalid", String(skipInvalid));
      form.append("options", JSON.stringify(cleaning));
      const chosen = peek?.file === file && peek.peek ? mappingField(mapping, suggested) : null;
      if (chosen) form.append("mapping", JSON.stringify(chosen));
      setSent({ loaded: 0, total: file!.size });
      return uploadForm<Job>(`/api/projects/${projectId}/prompt-sets`, form, { onProgress: setSent });
    },
    onSuccess: (job) => setJobId(job.id),
  });
  const job = usePromptSetJob(projectId, jobId);
  const finished = job.data ? isFinished(job.data.status) : false;
  const busy = upload.isPending || (jobId !== null && !finished);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file || busy || needsPrompt) return;
    setJobId(null);
    upload.mutate();
  };

  return (
    <section className="card" data-testid="upload-prompt-set">
      <h2>Upload a prompt set</h2>
      <p className="muted small">
        JSONL, CSV or Parquet (each may be gzip-compressed, e.g. <code>.jsonl.gz</code>), or a zip/tar of a{" "}
        <code>save_to_disk</code> folder. The usual layouts (GSM8K, MATH, chat messages, HumanEval) are recognised;
        the columns step shows what was found. An upload with the name of an existing set becomes its next version.
      </p>
      <form onSubmit={submit}>
        <div className="form-grid">
          <label>
            File
            <input
              type="file"
              accept=".jsonl,.ndjson,.json,.csv,.parquet,.zip,.tar,.gz,.tgz"
              onChange={(e) => {
                const f = e.target.files?.[0] ?? null;
                setFile(f);
                if (f && !name) setName(baseName(f.name));
              }}
              data-testid="upload-file"
            />
          </label>
          <label>
            Name
            <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} data-testid="upload-name" />
            {fieldMessage(upload.error, "name") && <span className="field-error">{fieldMessage(upload.error, "name")}</span>}
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={skipInvalid}
              onChange={(e) => setSkipInvalid(e.target.checked)}
              data-testid="upload-skip-invalid"
            />
            Skip bad rows (otherwise one bad row rejects the file)
          </label>
        </div>
        {file && (
          <ColumnMappingFields
            peek={peek?.file === file ? peek.peek : null}
            reading={reading}
            error={peek?.file === file ? peek.error : null}
            value={mapping}
            suggested={suggested}
            onChange={setMapping}
          />
        )}
        <CleaningFields
          value={cleaning}
          onChange={setCleaning}
          sets={sets}
          fieldError={(p) => fieldMessage(upload.error, `options.${p}`)}
        />
        <button type="submit" disabled={!file || !name.trim() || busy || needsPrompt} data-testid="upload-submit">
          {upload.isPending ? "Uploading…" : busy ? "Importing…" : "Upload"}
        </button>
      </form>

      {upload.isPending && sent && (
        <div className="upload-progress" data-testid="upload-progress">
          <ProgressBar done={sent.loaded} total={sent.total} label="upload" />
          <span className="muted small">
            {formatBytes(sent.loaded)}
            {sent.total !== null ? ` of ${formatBytes(sent.total)}` : ""} sent
          </span>
        </div>
      )}
      {upload.isError && (
        <p className="error" role="alert" data-testid="upload-error">
          {errorMessage(upload.error)}
        </p>
      )}
      {jobId !== null && <ImportJobResult projectId={projectId} job={job.data} error={job.error} />}
    </section>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}
