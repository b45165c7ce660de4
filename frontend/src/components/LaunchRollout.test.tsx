import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { jsonResponse, mockApi, renderWithRouter, requestsTo, user } from "../test/helpers";
import { LaunchRollout } from "./LaunchRollout";

const sets = [{ id: 7, project_id: 3, name: "gsm8k", version: 2, prompt_count: 1200 }];
const teachers = [{ id: 9, project_id: 3, name: "r1", backend: "openai_compat", model: "deepseek-reasoner" }];
const estimate = {
  prompts: 1200,
  attempts: 4800,
  input_tokens: 300000,
  output_tokens: 4915200,
  cost_usd: 10.93,
  seconds: 5400,
  seconds_source: "default",
  max_tokens: 16384,
  max_tokens_source: "auto: default 16384",
  startup_s: 0,
  price: { input_per_m: 0.55, output_per_m: 2.19, gpu_hour: 0, source: "price table deepseek/deepseek-reasoner" },
  basis: ["1200 prompts in split 'train' x n=4", "cost: price table deepseek/deepseek-reasoner"],
};

describe("LaunchRollout", () => {
  it("estimates, then launches the recipe it showed and opens the run", async () => {
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3/prompt-sets": () => jsonResponse(sets),
      "GET /api/projects/3/teachers": () => jsonResponse(teachers),
      "POST /api/projects/3/runs/estimate": () => jsonResponse(estimate),
      "POST /api/projects/3/runs": () => jsonResponse({ id: 44, name: "x", status: "queued", stages: [] }, 202),
    });
    const u = userEvent.setup();
    const { router } = renderWithRouter(<LaunchRollout projectId={3} />);

    await screen.findByRole("option", { name: /gsm8k v2/ });
    expect(screen.getByTestId("launch-submit")).toBeDisabled();
    await u.selectOptions(screen.getByTestId("launch-prompt-set"), "7");
    await u.selectOptions(screen.getByTestId("launch-teacher"), "9");
    await u.clear(screen.getByTestId("launch-n"));
    await u.type(screen.getByTestId("launch-n"), "4");
    await u.click(screen.getByTestId("launch-estimate"));
    expect(await screen.findByTestId("launch-estimate-cost")).toHaveTextContent("$10.93");
    expect(screen.getByTestId("launch-estimate-time")).toHaveTextContent("90 min");
    expect(screen.getByTestId("launch-estimate-source")).toHaveTextContent("default speed: assumed, not measured");
    expect(screen.getByTestId("launch-estimate-result")).toHaveTextContent("4,800 attempts");
    expect(screen.getByTestId("launch-estimate-max-tokens")).toHaveTextContent("max_tokens 16,384 per attempt (auto: default 16384)");

    await u.click(screen.getByTestId("launch-submit"));
    await waitFor(() => expect(router.state.location.pathname).toBe("/projects/3/runs/44"));
    const [sent] = requestsTo(fetchMock, "/api/projects/3/runs");
    const body = await sent.json();
    // max_tokens left empty: auto, so the recipe leaves it out and the API decides
    expect(body.recipe).toEqual({ prompt_set_id: 7, teacher_id: 9, stages: ["rollout"], rollout: { n: 4, temperature: 0.7 } });
    const [asked] = requestsTo(fetchMock, "/api/projects/3/runs/estimate");
    // the estimate takes what the launch takes: {recipe} (its name optional), the same recipe
    expect(await asked.json()).toEqual({ recipe: body.recipe });
  });

  it("sends a max_tokens typed in, and auto again once the field is emptied", async () => {
    const set = { ...estimate, max_tokens: 2048, max_tokens_source: "set in the rollout" };
    const fetchMock = mockApi({
      "GET /api/projects/3/prompt-sets": () => jsonResponse(sets),
      "GET /api/projects/3/teachers": () => jsonResponse(teachers),
      "POST /api/projects/3/runs/estimate": async (r) => jsonResponse((await r.clone().json()).recipe.rollout.max_tokens ? set : estimate),
    });
    const u = userEvent.setup();
    renderWithRouter(<LaunchRollout projectId={3} />);
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.selectOptions(screen.getByTestId("launch-prompt-set"), "7");
    await u.selectOptions(screen.getByTestId("launch-teacher"), "9");
    const field = screen.getByTestId("launch-max-tokens");
    expect(field).toHaveValue(null);
    expect(field).toHaveAttribute("placeholder", "auto");
    await u.type(field, "2048");
    await u.click(screen.getByTestId("launch-estimate"));
    await waitFor(() => expect(screen.getByTestId("launch-estimate-max-tokens")).toHaveTextContent("max_tokens 2,048 per attempt (set in the rollout)"));
    await u.clear(field);
    await u.click(screen.getByTestId("launch-estimate"));
    await waitFor(() => expect(screen.getByTestId("launch-estimate-max-tokens")).toHaveTextContent("(auto: default 16384)"));
    const bodies = await Promise.all(requestsTo(fetchMock, "/api/projects/3/runs/estimate").map((r) => r.clone().json()));
    expect(bodies.map((b) => b.recipe.rollout)).toEqual([{ n: 4, max_tokens: 2048, temperature: 0.7 }, { n: 4, temperature: 0.7 }]);
  });

  it("shows the API's error when the estimate is refused", async () => {
    mockApi({
      "GET /api/projects/3/prompt-sets": () => jsonResponse(sets),
      "GET /api/projects/3/teachers": () => jsonResponse(teachers),
      "POST /api/projects/3/runs/estimate": () =>
        jsonResponse({ error: { code: "not_found", message: "teacher 9 not found" } }, 404),
    });
    const u = userEvent.setup();
    renderWithRouter(<LaunchRollout projectId={3} />);
    await screen.findByRole("option", { name: /gsm8k v2/ });
    await u.selectOptions(screen.getByTestId("launch-prompt-set"), "7");
    await u.selectOptions(screen.getByTestId("launch-teacher"), "9");
    await u.click(screen.getByTestId("launch-estimate"));
    expect(await screen.findByRole("alert")).toHaveTextContent("teacher 9 not found");
  });
});
