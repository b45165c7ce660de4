import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { RunDetail } from "../../api/client";
import { jsonResponse, mockApi, renderWithRouter, requestsTo } from "../../test/helpers";
import { RunPage } from "./RunPage";

const T0 = "2026-12-01T10:00:00Z";
const project = (role: string) => ({ id: 3, name: "Distill", description: "", created_at: T0, role });

const smoke = (decision: string) => ({
  prompts: 4, attempts: 8, accepted: 2, acceptance: 0.25, min_accept: 0.6, decision,
  verdicts: [
    { generation_id: 71, prompt_id: 12, attempt: 1, accepted: false, excerpt: "The answer is 7.",
      reasons: [{ verifier: "math", status: "wrong", reason: "answer: 7, reference: 42" }] },
    { generation_id: 70, prompt_id: 12, attempt: 0, accepted: true, excerpt: "The answer is 42.",
      reasons: [{ verifier: "math", status: "passed", reason: null }] },
  ],
});

function run(status: string, decision: string, rolloutStatus = "running"): RunDetail {
  const rollout = {
    id: 10, run_id: 5, position: 0, kind: "rollout", status: rolloutStatus, progress_done: 8, progress_total: 40, error: null,
    created_at: T0, started_at: T0, finished_at: null,
    metrics: {
      generations: 8, succeeded: 8, failed: 0, truncated: 0, from_cache: 0, failures: {}, prompt_tokens: 80, completion_tokens: 800,
      tokens_per_s: 100, completions_per_s: 2, cost_usd: 0.01, gpu_seconds: 0, elapsed_s: 4, chunks: { succeeded: 1, pending: 2 },
      attempts_skipped: 0, cost_saved_usd: 0, partly_failed: null, smoke: smoke(decision),
    },
  };
  const filter = { ...rollout, id: 11, position: 1, kind: "filter", status: status === "cancelled" ? "cancelled" : "pending", metrics: null, progress_done: 0, progress_total: null, started_at: null };
  return {
    id: 5, project_id: 3, name: "nightly", status, recipe: {}, prompt_set_id: 1, teacher_id: 1, summary: {}, cost_usd: 0.01,
    cost_per_accepted_usd: null, warnings: [], error: null, created_at: T0, started_at: T0, finished_at: null, stages: [rollout, filter],
  } as unknown as RunDetail;
}

function routes(role: string, current: () => RunDetail, post?: (body: unknown) => Response) {
  return {
    "GET /api/projects/3": () => jsonResponse(project(role)),
    "GET /api/projects/3/runs/5": () => jsonResponse(current()),
    "POST /api/projects/3/runs/5/smoke": async (req: Request) => (post ? post(await req.clone().json()) : jsonResponse({}, 500)),
  };
}

describe("the run page's smoke sample", () => {
  it("shows the sample's acceptance and verdicts, and a maintainer's Continue resumes the rollout", async () => {
    let now = run("running", "pending");
    const fetchMock = mockApi(
      routes("maintainer", () => now, () => {
        now = run("running", "continued");
        return jsonResponse(now, 202);
      }),
    );
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const panel = await screen.findByTestId("smoke-sample");
    expect(panel).toHaveAttribute("data-decision", "pending");
    expect(within(panel).getByTestId("smoke-acceptance")).toHaveTextContent("2 of 8 attempts accepted (25%)");
    expect(within(panel).getByTestId("smoke-acceptance")).toHaveTextContent("floor 60%: below the floor");
    const verdicts = within(panel).getAllByTestId("smoke-verdict");
    expect(verdicts.map((v) => v.getAttribute("data-accepted"))).toEqual(["false", "true"]);
    expect(verdicts[0]).toHaveTextContent("math: wrong (answer: 7, reference: 42)");
    expect(verdicts[0]).toHaveTextContent("The answer is 7.");
    await userEvent.click(await within(panel).findByTestId("smoke-continue"));
    await waitFor(() => expect(screen.getByTestId("smoke-sample")).toHaveAttribute("data-decision", "continued"));
    const posts = requestsTo(fetchMock, "/api/projects/3/runs/5/smoke");
    expect(posts).toHaveLength(1);
    expect(await posts[0].clone().json()).toEqual({ decision: "continue" });
    expect(screen.queryByTestId("smoke-continue")).not.toBeInTheDocument();
    expect(screen.getByTestId("smoke-acceptance")).toHaveTextContent("a maintainer said continue");
  });

  it("Cancel posts cancel, and the API's refusal is shown", async () => {
    const fetchMock = mockApi(
      routes("owner", () => run("running", "pending"), () =>
        jsonResponse({ error: { code: "no_decision_pending", message: "run 5 has no smoke sample waiting for a decision" } }, 409),
      ),
    );
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    await userEvent.click(await screen.findByTestId("smoke-cancel"));
    expect(await screen.findByTestId("smoke-error")).toHaveTextContent("no smoke sample waiting for a decision");
    expect(await requestsTo(fetchMock, "/api/projects/3/runs/5/smoke")[0].clone().json()).toEqual({ decision: "cancel" });
  });

  it("shows a viewer the sample without the buttons, and a cancelled run's without them too", async () => {
    const viewer = mockApi(routes("viewer", () => run("running", "pending")));
    const page = renderWithRouter(<RunPage projectId={3} runId={5} />);
    await screen.findByTestId("smoke-sample");
    await waitFor(() => expect(requestsTo(viewer, "/api/projects/3").length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 20)); // the role's answer is rendered
    expect(screen.queryByTestId("smoke-continue")).not.toBeInTheDocument();
    expect(screen.queryByTestId("smoke-cancel")).not.toBeInTheDocument();
    page.unmount();
    mockApi(routes("maintainer", () => run("cancelled", "cancelled", "cancelled")));
    renderWithRouter(<RunPage projectId={3} runId={5} />);
    const panel = await screen.findByTestId("smoke-sample");
    expect(panel).toHaveAttribute("data-decision", "cancelled");
    expect(await screen.findByTestId("run-requeue")).toBeInTheDocument(); // the maintainer's role has arrived
    expect(screen.queryByTestId("smoke-continue")).not.toBeInTheDocument();
  });
});
