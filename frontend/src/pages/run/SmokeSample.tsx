import { useMutation } from "@tanstack/react-query";
import { api, unwrap, type RunDetail, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";

type Smoke = Schemas["SmokeResult"];

const pct = (x: number) => `${(x * 100).toFixed(x * 100 < 10 ? 1 : 0)}%`;

const SAID: Record<Smoke["decision"], string> = {
  passed: "at or above the floor: the rollout went on by itself",
  pending: "below the floor: the rollout waits for a maintainer's decision before the teacher is asked for the rest",
  continued: "below the floor; a maintainer said continue",
  cancelled: "below the floor; the run was cancelled",
};

/** The rollout's smoke sample (rollout.smoke), from its stage's live metrics or the run's summary. */
export function smokeOf(run: RunDetail): Smoke | null {
  const st = run.stages.find((s) => s.kind === "rollout");
  const live = st?.kind === "rollout" ? st.metrics?.smoke : null;
  return live ?? run.summary.rollout?.smoke ?? null;
}

/**
 * The smoke sample's acceptance against the floor, a few of its attempts with each verifier's reason
 * (rejected ones first), and, while it waits below the floor, Continue / Cancel for maintainers
 * (POST .../runs/{id}/smoke).
 */
export function SmokeSample({
  projectId,
  run,
  smoke,
  canDecide,
  onDone,
}: {
  projectId: number;
  run: RunDetail;
  smoke: Smoke;
  canDecide: boolean;
  onDone: (detail: RunDetail) => void;
}) {
  const decide = useMutation({
    mutationFn: (decision: "continue" | "cancel") =>
      unwrap(
        api.POST("/api/projects/{project_id}/runs/{run_id}/smoke", {
          params: { path: { project_id: projectId, run_id: run.id } },
          body: { decision },
        }),
      ),
    onSuccess: onDone,
  });
  const pending = smoke.decision === "pending";
  return (
    <div className={`smoke-sample${pending ? " smoke-pending" : ""}`} data-testid="smoke-sample" data-decision={smoke.decision}>
      <h4>Smoke sample</h4>
      <p data-testid="smoke-acceptance">
        <strong>
          {smoke.accepted} of {smoke.attempts} attempts accepted ({pct(smoke.acceptance)})
        </strong>{" "}
        on {smoke.prompts} {smoke.prompts === 1 ? "prompt" : "prompts"}; floor {pct(smoke.min_accept)}: {SAID[smoke.decision]}.
      </p>
      {smoke.verdicts.length > 0 && (
        <ul className="smoke-verdicts">
          {smoke.verdicts.map((v) => (
            <li key={v.generation_id} data-testid="smoke-verdict" data-accepted={String(v.accepted)}>
              <span className={v.accepted ? "ok" : "bad"}>{v.accepted ? "accepted" : v.accepted === false ? "rejected" : "undecided"}</span>{" "}
              <span className="muted small">
                prompt {v.prompt_id}, attempt {v.attempt}
              </span>
              {v.reasons.map((r, i) => (
                <div key={i} className="small" data-testid="smoke-reason">
                  {r.verifier}: {r.status}
                  {r.reason ? ` (${r.reason})` : ""}
                </div>
              ))}
              <pre className="smoke-excerpt">{v.excerpt}</pre>
            </li>
          ))}
        </ul>
      )}
      {pending && canDecide && (
        <div className="card-actions">
          <button type="button" disabled={decide.isPending} onClick={() => decide.mutate("continue")} data-testid="smoke-continue">
            Continue the rollout
          </button>
          <button type="button" className="danger" disabled={decide.isPending} onClick={() => decide.mutate("cancel")} data-testid="smoke-cancel">
            Cancel the run
          </button>
        </div>
      )}
      {decide.isError && (
        <p className="error" role="alert" data-testid="smoke-error">
          {errorMessage(decide.error)}
        </p>
      )}
    </div>
  );
}
