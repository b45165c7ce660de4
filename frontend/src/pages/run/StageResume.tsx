import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type RunDetail, type Stage } from "../../api/client";
import { ApiError, errorMessage } from "../../api/errors";
import { stageKindsQuery } from "../../api/queries";
import { ErrorsContext, FieldError } from "../wizard/Fields";
import { SchemaFields } from "../wizard/SchemaFields";
import { isObj, settingsModel } from "../wizard/schema";

/** The API's field errors ("body.settings.max_steps") at the form's fields ("settings.max_steps"). */
function errorMap(err: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (err instanceof ApiError) {
    for (const f of err.fields) {
      const p = f.path.replace(/^body\./, "");
      if (!m.has(p)) m.set(p, f.message);
    }
  }
  return m;
}

/**
 * A failed or cancelled stage's settings, prefilled from the run's recipe and drawn from its kind's JSON
 * Schema (GET .../stage-kinds), sent with POST .../stages/{id}/resume: the run goes back to the queue from
 * that stage with them, the stages that succeeded keep their results.
 */
export function StageResume({
  projectId,
  run,
  stage,
  onDone,
  onClose,
}: {
  projectId: number;
  run: RunDetail;
  stage: Stage;
  onDone: (detail: RunDetail) => void;
  onClose: () => void;
}) {
  const kinds = useQuery(stageKindsQuery(projectId));
  const stored = run.recipe[stage.kind];
  const [settings, setSettings] = useState<Record<string, unknown>>(isObj(stored) ? stored : {});
  const resume = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/runs/{run_id}/stages/{stage_id}/resume", {
          params: { path: { project_id: projectId, run_id: run.id, stage_id: stage.id } },
          body: { settings },
        }),
      ),
    onSuccess: (detail) => {
      onDone(detail);
      onClose();
    },
  });
  const schema = kinds.data?.find((k) => k.name === stage.kind)?.settings_schema;
  return (
    <ErrorsContext.Provider value={errorMap(resume.error)}>
      <div className="card stage-resume" data-testid="stage-resume">
        <h3>Edit the {stage.kind} stage's settings and resume</h3>
        <p className="muted small">
          The run goes back to the queue from this stage with these settings; the stages before it keep their results.
        </p>
        {kinds.isError && (
          <p className="error" role="alert">
            {errorMessage(kinds.error)}
          </p>
        )}
        {kinds.isPending && <p className="muted">Loading the stage's settings…</p>}
        {schema && <SchemaFields schema={settingsModel(schema, settings)} value={settings} onChange={setSettings} base="settings" />}
        <FieldError path="settings" />
        {resume.isError && (
          <p className="error" role="alert" data-testid="stage-resume-error">
            {errorMessage(resume.error)}
          </p>
        )}
        <div className="card-actions">
          <button type="button" disabled={!schema || resume.isPending} onClick={() => resume.mutate()} data-testid="stage-resume-submit">
            {resume.isPending ? "Resuming…" : "Resume from this stage"}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </ErrorsContext.Provider>
  );
}
