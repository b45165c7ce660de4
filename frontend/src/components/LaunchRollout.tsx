import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { errorMessage } from "../api/errors";
import { formatNumber } from "../lib/format";
import { useNavigate } from "@tanstack/react-router";
import { SECONDS_SOURCE } from "../lib/estimate";
import { keys, promptSetsQuery, teachersQuery } from "../api/queries";

type Estimate = Schemas["RolloutEstimate"];
type Recipe = Schemas["Recipe"];

/** Pick a prompt set and a teacher, see tokens/cost/time, then launch a rollout run. */
export function LaunchRollout({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const path = { project_id: projectId };
  const sets = useQuery(promptSetsQuery(projectId));
  const teachers = useQuery(teachersQuery(projectId));
  const [promptSet, setPromptSet] = useState<number | "">("");
  const [teacher, setTeacher] = useState<number | "">("");
  const [n, setN] = useState(4);
  // null: auto (the teacher's context length where known, else 16384), decided by the API
  const [maxTokens, setMaxTokens] = useState<number | null>(null);
  const [temperature, setTemperature] = useState(0.7);
  const [name, setName] = useState("");

  // Defaulted fields are optional (openapi-typescript --default-non-nullable false); the API fills them in.
  const recipe = (): Recipe => ({
    prompt_set_id: Number(promptSet),
    teacher_id: Number(teacher),
    stages: ["rollout"],
    rollout: { n, ...(maxTokens === null ? {} : { max_tokens: maxTokens }), temperature },
  });
  const estimate = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/runs/estimate", { params: { path }, body: { recipe: recipe() } })),
  });
  const launch = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/runs", {
          params: { path },
          body: { name: name || `rollout-${new Date().toISOString().slice(0, 16)}`, recipe: recipe() },
        }),
      ),
    onSuccess: (run) => {
      void queryClient.invalidateQueries({ queryKey: keys.runs(projectId) });
      void navigate({ to: "/projects/$projectId/runs/$runId", params: { projectId, runId: run.id } });
    },
  });
  const ready = promptSet !== "" && teacher !== "";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (ready) launch.mutate();
  };

  return (
    <form className="card launch" onSubmit={submit} data-testid="launch-rollout">
      <h2>New rollout</h2>
      <div className="form-grid">
        <label>
          Prompt set
          <select value={promptSet} onChange={(e) => setPromptSet(e.target.value ? Number(e.target.value) : "")} data-testid="launch-prompt-set">
            <option value="">choose…</option>
            {(sets.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} v{s.version} ({formatNumber(s.prompt_count)})
              </option>
            ))}
          </select>
        </label>
        <label>
          Teacher
          <select value={teacher} onChange={(e) => setTeacher(e.target.value ? Number(e.target.value) : "")} data-testid="launch-teacher">
            <option value="">choose…</option>
            {(teachers.data ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.backend}, {t.model})
              </option>
            ))}
          </select>
        </label>
        <label>
          Attempts per prompt
          <input type="number" min={1} max={64} value={n} onChange={(e) => setN(Number(e.target.value))} data-testid="launch-n" />
        </label>
        <label>
          Max tokens
          <input
            type="number"
            min={1}
            value={maxTokens ?? ""}
            placeholder="auto"
            title="Empty: auto, the teacher's context length where known, else 16384"
            onChange={(e) => setMaxTokens(e.target.value === "" ? null : Number(e.target.value))}
            data-testid="launch-max-tokens"
          />
        </label>
        <label>
          Temperature
          <input type="number" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(Number(e.target.value))} />
        </label>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
        </label>
      </div>
      <div className="card-actions">
        <button type="button" className="secondary" disabled={!ready || estimate.isPending} onClick={() => estimate.mutate()} data-testid="launch-estimate">
          Estimate
        </button>
        <button type="submit" disabled={!ready || launch.isPending} data-testid="launch-submit">
          {launch.isPending ? "Launching…" : "Launch"}
        </button>
      </div>
      {estimate.data && <EstimateView estimate={estimate.data} />}
      {(estimate.isError || launch.isError) && (
        <p className="error" role="alert">
          {errorMessage(estimate.error ?? launch.error)}
        </p>
      )}
    </form>
  );
}

function EstimateView({ estimate }: { estimate: Estimate }) {
  return (
    <div className="estimate" data-testid="launch-estimate-result">
      <p>
        {formatNumber(estimate.attempts)} attempts ({formatNumber(estimate.prompts)} prompts), about{" "}
        {formatNumber(estimate.input_tokens)} input and at most {formatNumber(estimate.output_tokens)} output tokens;{" "}
        cost <strong data-testid="launch-estimate-cost">{estimate.cost_usd === null ? "unknown" : `$${estimate.cost_usd.toFixed(2)}`}</strong>
        , about <span data-testid="launch-estimate-time">{Math.ceil(estimate.seconds / 60)} min</span>
        <span data-testid="launch-estimate-source">{SECONDS_SOURCE[estimate.seconds_source]}</span>.{" "}
        <span data-testid="launch-estimate-max-tokens">
          max_tokens {formatNumber(estimate.max_tokens)} per attempt ({estimate.max_tokens_source})
        </span>
        .
      </p>
      <ul className="muted small">
        {estimate.basis.map((b) => (
          <li key={b}>{b}</li>
        ))}
      </ul>
    </div>
  );
}
