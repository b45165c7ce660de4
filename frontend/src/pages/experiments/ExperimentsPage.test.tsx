import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import type { Schemas } from "../../api/client";
import { jsonResponse, mockApi, renderWithClient, user } from "../../test/helpers";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "owner" };
const score = (label: string, p: number, evaluation_id: number) => ({ label, evaluation_id, pass_at_1: p, pass_at_1_ci: [p - 0.1, p + 0.1] });
const head = { auto: false, prompt_set_id: 2, eval_set: { prompt_set_id: 2, split: "eval", max_prompts: null }, settings: {}, created_at: "2026-01-01T00:00:00" };

const compare: Schemas["ExperimentDetail"] = {
  ...head,
  id: 1,
  name: "demo",
  kind: "compare",
  run_ids: [10, 11],
  eval_set_label: "prompt set 2, split eval",
  factors: [{ name: "filter", path: "stages.filter" }, { name: "attempts per prompt", path: "rollout.n" }],
  pressure: null,
  rows: [
    {
      run_id: 10, run_name: "verified", status: "succeeded", factors: { "stages.filter": true, "rollout.n": 4 },
      student: score("student", 0.75, 1), base: score("base", 0.25, 2), teacher: score("teacher", 0.9, 3),
      gain: { difference: 0.5, ci: [0.25, 0.75], prompts: 40 }, teacher_usd: 1, gpu_seconds: 50, usd_per_point: 0.02, gpu_seconds_per_point: 1,
    },
    {
      run_id: 11, run_name: "plain", status: "succeeded", factors: { "stages.filter": false, "rollout.n": 8 },
      student: score("student", 0.25, 4), base: score("base", 0.25, 2), teacher: null,
      gain: { difference: 0, ci: [-0.1, 0.1], prompts: 40 }, teacher_usd: 2, gpu_seconds: 5, usd_per_point: null, gpu_seconds_per_point: null,
    },
  ],
};  // prettier-ignore

function pressure(verdict: "not_material" | null): Schemas["ExperimentDetail"] {
  return {
    ...head, id: 2, name: "pressure test 1: says-13", kind: "pressure", run_ids: [12], eval_set_label: "prompt set 2, split eval, first 5",
    factors: [], rows: [],
    pressure: {
      status: verdict ? "succeeded" : "running", margin: 0.05, error: null,
      teacher: verdict ? score("teacher", 0, 5) : null, student: verdict ? score("student", 0, 6) : null,
      difference: verdict ? { difference: 0, ci: [0, 0], prompts: 5 } : null,
      verdict, material: verdict ? false : null,
      sentence: verdict ? "The teacher does not materially beat the base student: +0.0 points. Distillation will not earn its build." : null,
    },
  };  // prettier-ignore
}

describe("experiments page", () => {
  it("tables each run's factors, scores with intervals, gain and cost per point", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/experiments");
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/experiments": () => jsonResponse([compare]),
      "GET /api/projects/3/experiments/1": () => jsonResponse(compare),
    });
    renderWithClient(<App />);

    const table = await screen.findByTestId("experiment-table");
    const headers = within(table).getAllByRole("columnheader").map((h) => h.textContent);
    expect(headers.slice(0, 3)).toEqual(["Run", "filter", "attempts per prompt"]);
    const first = within(table).getByTestId("experiment-row-10");
    expect(first).toHaveTextContent("#10 verified");
    expect(first).toHaveTextContent("on");
    expect(first).toHaveTextContent("75.0% [65.0%, 85.0%]");
    expect(first).toHaveTextContent("+50.0 [+25.0, +75.0]");
    expect(within(first).getByTestId("usd-per-point-10")).toHaveTextContent("$0.0200");
    const second = within(table).getByTestId("experiment-row-11");
    expect(second).toHaveTextContent("off");
    // nothing gained: no cost per point rather than a division by zero
    expect(within(second).getByTestId("usd-per-point-11")).toHaveTextContent("–");
    expect(screen.getByTestId("nav-experiments")).toBeInTheDocument();
  });

  it("creates an experiment from run ids and shows the API's error in its words", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/experiments");
    let made = false;
    let sent: unknown = null;
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/experiments": () => jsonResponse(made ? [compare] : []),
      "GET /api/projects/3/experiments/1": () => jsonResponse(compare),
      "POST /api/projects/3/experiments": async (r) => {
        const body = await r.json();
        sent = body;
        if (body.run_ids.includes(99)) {
          return jsonResponse({ error: { code: "not_found", message: "run_ids.1: run 99 not found" } }, 404);
        }
        made = true;
        return jsonResponse(compare, 201);
      },
    });
    const u = userEvent.setup();
    renderWithClient(<App />);
    await screen.findByTestId("experiments-empty");
    await u.type(screen.getByTestId("experiment-name"), "demo");
    await u.type(screen.getByTestId("experiment-runs"), "10, 99");
    await u.click(screen.getByTestId("experiment-create"));
    expect(await screen.findByText("run_ids.1: run 99 not found")).toBeInTheDocument();
    await u.clear(screen.getByTestId("experiment-runs"));
    await u.type(screen.getByTestId("experiment-runs"), "10 11");
    await u.click(screen.getByTestId("experiment-create"));
    await screen.findByTestId("experiment-table");
    expect(sent).toEqual({ name: "demo", run_ids: [10, 11] });
  });

  it("polls a running pressure test until its verdict", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/experiments");
    let done = false;
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse({ ...project, role: "viewer" }),
      "GET /api/projects/3/experiments": () => jsonResponse([pressure(null)]),
      "GET /api/projects/3/experiments/2": () => jsonResponse(pressure(done ? "not_material" : null)),
    });
    renderWithClient(<App />);
    await screen.findByTestId("pressure-waiting");
    // a viewer reads; only maintainers create or derive
    expect(screen.queryByTestId("experiment-create")).not.toBeInTheDocument();
    done = true;
    const verdict = await waitFor(() => screen.getByTestId("pressure-verdict"), { timeout: 5000 });
    expect(verdict).toHaveAttribute("data-verdict", "not_material");
    expect(verdict).toHaveTextContent("Distillation will not earn its build.");
  });
});
