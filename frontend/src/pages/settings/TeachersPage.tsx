import { useCallback, useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { isFinished } from "../../lib/format";
import { useJob } from "../../lib/jobs";
import { atLeast } from "../../lib/roles";
import { ServedModels } from "../../components/ServedModels";
import "./settings.css";
import { keys, projectQuery, teachersQuery } from "../../api/queries";

type Teacher = Schemas["TeacherOut"];
type Probe = Schemas["TeacherProbe"];
type Backend = Schemas["TeacherBackend"];
type Licence = Schemas["Licence"];

const BACKENDS: { value: Backend; label: string }[] = [
  { value: "openai_compat", label: "OpenAI-compatible endpoint" },
  { value: "vllm", label: "vLLM (local, or a server with a base URL)" },
  { value: "transformers_local", label: "transformers (in-process, local)" },
];

/** What each licence means for distillation: shown beside every teacher and in the form. */
export const LICENCE_TERMS: Record<Licence, { label: string; terms: string }> = {
  open_weights: {
    label: "Open weights",
    terms: "The model's own licence applies; most open-weight licences allow training on its outputs.",
  },
  api_no_compete: {
    label: "API, no competing models",
    terms:
      "The provider's terms (e.g. OpenAI's, Anthropic's) forbid using outputs to train models that compete with theirs: runs warn before launch.",
  },
  other: { label: "Other", terms: "Read the provider's terms before training on its outputs." },
};

interface Draft {
  name: string;
  backend: Backend;
  model: string;
  base_url: string;
  api_key: string;
  clear_key: boolean;
  licence: Licence;
  settings: string;
}

const EMPTY: Draft = {
  name: "",
  backend: "openai_compat",
  model: "",
  base_url: "",
  api_key: "",
  clear_key: false,
  licence: "open_weights",
  settings: "{}",
};

function draftOf(t: Teacher): Draft {
  return {
    name: t.name,
    backend: t.backend,
    model: t.model,
    base_url: t.base_url ?? "",
    api_key: "",
    clear_key: false,
    licence: t.licence,
    settings: JSON.stringify(t.settings ?? {}, null, 2),
  };
}

function parseSettings(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() || "{}");
  } catch (e) {
    throw new Error(`settings: not JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("settings: must be a JSON object");
  return v as Record<string, unknown>;
}

/** What the last speed probe measured, in one line; the estimate uses it before a teacher's first run. */
export function probeSummary(p: Probe): string {
  if (p.error || p.tokens_per_s == null) return `probe failed: ${p.error ?? "no answer"}`;
  let line = `${p.tokens_per_s.toFixed(1)} tokens/s per request, ${Math.round(p.latency_ms ?? 0)} ms mean latency`;
  if (p.startup_s != null) line += `, vLLM start-up ${p.startup_s.toFixed(0)} s`;
  return line;
}

/** The teacher's measured speed, and for maintainers a button that runs the probe and follows its job. */
function SpeedCell({ projectId, teacher, canEdit, onMeasured }: { projectId: number; teacher: Teacher; canEdit: boolean; onMeasured: () => void }) {
  const [jobId, setJobId] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const job = useJob(projectId, jobId);
  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/teachers/{teacher_id}/probe", {
          params: { path: { project_id: projectId, teacher_id: teacher.id } },
        }),
      ),
    onMutate: () => setError(null),
    onSuccess: (j) => setJobId(j.id),
    onError: (e) => setError(errorMessage(e)),
  });
  const finished = job.data !== undefined && isFinished(job.data.status);
  useEffect(() => {
    if (finished) onMeasured(); // the figures (or the failure) are on the teacher now
  }, [finished, onMeasured]);
  const running = start.isPending || (jobId !== null && !finished);
  const jobError = finished && job.data?.status !== "succeeded" ? ((job.data?.error as { message?: string } | null)?.message ?? job.data?.status) : null;
  const probe = teacher.probe;
  return (
    <td className="small" data-testid="teacher-speed">
      {probe ? (
        <span className={probe.error ? "error" : undefined} title={`measured ${new Date(probe.measured_at).toLocaleString()}`} data-testid="teacher-probe">
          {probeSummary(probe)}
        </span>
      ) : (
        <span className="muted">not measured</span>
      )}
      {running && (
        <div className="muted" data-testid="teacher-probe-running">
          Measuring… {job.data ? `${job.data.progress_done}/${job.data.progress_total ?? "?"} requests` : ""}
        </div>
      )}
      {(error || jobError) && (
        <div className="error" role="alert" data-testid="teacher-probe-error">
          {error ?? jobError}
        </div>
      )}
      {canEdit && (
        <div>
          <button type="button" className="secondary" disabled={running} onClick={() => start.mutate()} data-testid="teacher-probe-start">
            Measure speed
          </button>
        </div>
      )}
    </td>
  );
}

export function TeachersPage({ projectId }: { projectId: number }) {
  const qc = useQueryClient();
  const path = { project_id: projectId };
  const project = useQuery(projectQuery(projectId));
  const teachers = useQuery(teachersQuery(projectId));
  const canEdit = atLeast(project.data?.role, "maintainer");
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(() => qc.invalidateQueries({ queryKey: keys.teachers(projectId) }), [qc, projectId]);
  const save = useMutation({
    mutationFn: async (d: Draft) => {
      const settings = parseSettings(d.settings);
      if (editing === "new") {
        return unwrap(
          api.POST("/api/projects/{project_id}/teachers", {
            params: { path },
            body: {
              name: d.name,
              backend: d.backend,
              model: d.model,
              base_url: d.base_url || null,
              api_key: d.api_key || null,
              licence: d.licence,
              settings,
            },
          }),
        );
      }
      const body: Schemas["TeacherUpdate"] = {
        name: d.name,
        model: d.model,
        base_url: d.base_url || null,
        licence: d.licence,
        settings,
      };
      if (d.clear_key) body.api_key = "";
      else if (d.api_key) body.api_key = d.api_key;
      return unwrap(
        api.PATCH("/api/projects/{project_id}/teachers/{teacher_id}", {
          params: { path: { ...path, teacher_id: editing as number } },
          body,
        }),
      );
    },
    onMutate: () => setError(null),
    onSuccess: () => {
      setEditing(null);
      refresh();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  const remove = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/projects/{project_id}/teachers/{teacher_id}", { params: { path: { ...path, teacher_id: id } } })),
    onSuccess: refresh,
    onError: (e) => setError(errorMessage(e)),
  });

  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const open = (which: number | "new", d: Draft) => {
    setEditing(which);
    setDraft(d);
    setError(null);
  };

  const form = editing !== null && (
    <form
      className="card settings-form"
      data-testid="teacher-form"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(draft);
      }}
    >
      <h2>{editing === "new" ? "New teacher" : `Edit ${draft.name}`}</h2>
      <div className="settings-grid">
        <label>
          Name
          <input data-testid="teacher-name" value={draft.name} onChange={(e) => set("name", e.target.value)} required />
        </label>
        <label>
          Backend
          <select
            data-testid="teacher-backend"
            value={draft.backend}
            disabled={editing !== "new"}
            onChange={(e) => set("backend", e.target.value as Backend)}
          >
            {BACKENDS.map((b) => (
              <option key={b.value} value={b.value}>
                {b.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input data-testid="teacher-model" value={draft.model} onChange={(e) => set("model", e.target.value)} required />
        </label>
        <label>
          Base URL
          <input
            data-testid="teacher-base-url"
            value={draft.base_url}
            placeholder="https://api.example.com/v1 (empty: runs locally)"
            onChange={(e) => set("base_url", e.target.value)}
          />
        </label>
        <label>
          API key <span className="small">(write-only: never shown again)</span>
          <input
            type="password"
            autoComplete="new-password"
            data-testid="teacher-api-key"
            value={draft.api_key}
            disabled={draft.clear_key}
            placeholder={editing === "new" ? "" : "leave empty to keep the stored key"}
            onChange={(e) => set("api_key", e.target.value)}
          />
        </label>
        {editing !== "new" && (
          <label className="settings-check">
            <input type="checkbox" checked={draft.clear_key} onChange={(e) => set("clear_key", e.target.checked)} />
            Remove the stored key
          </label>
        )}
        <label>
          Licence
          <select data-testid="teacher-licence" value={draft.licence} onChange={(e) => set("licence", e.target.value as Licence)}>
            {(Object.keys(LICENCE_TERMS) as Licence[]).map((l) => (
              <option key={l} value={l}>
                {LICENCE_TERMS[l].label}
              </option>
            ))}
          </select>
          <span className="small">{LICENCE_TERMS[draft.licence].terms}</span>
        </label>
        <label className="settings-wide">
          Settings (JSON: prices, concurrency, backend options)
          <textarea
            data-testid="teacher-settings"
            rows={4}
            value={draft.settings}
            onChange={(e) => set("settings", e.target.value)}
          />
        </label>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="teacher-error">
          {error}
        </p>
      )}
      <div className="card-actions">
        <button type="submit" disabled={save.isPending} data-testid="teacher-save">
          {save.isPending ? "Saving…" : "Save"}
        </button>
        <button type="button" className="secondary" onClick={() => setEditing(null)}>
          Cancel
        </button>
      </div>
    </form>
  );

  return (
    <div data-testid="teachers-page">
      <div className="card-head">
        <h1>Teachers</h1>
        {canEdit && editing === null && (
          <button type="button" data-testid="teacher-new" onClick={() => open("new", EMPTY)}>
            New teacher
          </button>
        )}
      </div>
      {editing === "new" && form}
      {(teachers.isError || project.isError) && (
        <p className="error" role="alert">
          {errorMessage(teachers.error ?? project.error)}
        </p>
      )}
      {error && editing === null && (
        <p className="error" role="alert" data-testid="teacher-error">
          {error}
        </p>
      )}
      <div className="card">
        {teachers.isPending ? (
          <p className="muted">Loading…</p>
        ) : teachers.data && teachers.data.length === 0 ? (
          <p className="muted">No teachers yet{canEdit ? ": add one to launch rollouts." : "."}</p>
        ) : (
          <table className="table" data-testid="teachers-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Backend · model</th>
                <th>Endpoint</th>
                <th>API key</th>
                <th>Licence</th>
                <th title="A few short real requests, as a rollout sends them: the estimate uses them before the first run">Speed</th>
                {canEdit && <th />}
              </tr>
            </thead>
            <tbody>
              {teachers.data?.map((t) => (
                <tr key={t.id} data-testid="teacher-row" data-teacher-id={t.id}>
                  <td>
                    <strong>{t.name}</strong>
                  </td>
                  <td>
                    <span className="muted small">{t.backend}</span>
                    <br />
                    <code className="small">{t.model}</code>
                  </td>
                  <td className="small">{t.base_url ?? <span className="muted">local</span>}</td>
                  <td>
                    <span className={`badge ${t.has_api_key ? "badge-succeeded" : ""}`} data-testid="teacher-key">
                      {t.has_api_key ? "set" : "unset"}
                    </span>
                  </td>
                  <td className="settings-licence">
                    <strong>{LICENCE_TERMS[t.licence].label}</strong>
                    <div className="small muted" data-testid="teacher-terms">
                      {LICENCE_TERMS[t.licence].terms}
                    </div>
                  </td>
                  <SpeedCell projectId={projectId} teacher={t} canEdit={canEdit} onMeasured={refresh} />
                  {canEdit && (
                    <td className="nowrap">
                      <button type="button" className="secondary" onClick={() => open(t.id, draftOf(t))}>
                        Edit
                      </button>{" "}
                      <button
                        type="button"
                        className="danger"
                        disabled={remove.isPending}
                        onClick={() => {
                          if (window.confirm(`Delete teacher ${t.name}?`)) remove.mutate(t.id);
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <ServedModels projectId={projectId} />
      {typeof editing === "number" && form}
    </div>
  );
}
