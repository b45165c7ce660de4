import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../../test/helpers";
import { EvaluationPage } from "./EvaluationPage";

const score = (label: string, role: string, p: number, id: number, extra: Record<string, unknown> = {}) => ({
  id,
  run_id: 2,
  stage_id: 9,
  artifact_id: null,
  label,
  role,
  model: `m-${role}`,
  prompt_set_id: 1,
  config_hash: "abc",
  metrics: {
    label, role, model: `m-${role}`, evaluation_id: id, params: null, samples: 4, pass_at_1: p,
    pass_at_1_ci: [p - 0.1, p + 0.1], pass_at_k: p, maj_at_k: p, mean_output_tokens: 42,
    truncation_rate: 0, config_hash: "abc", ...extra,
  },
});

const sample = (id: number, content: string, answer: string, passed: boolean) => ({
  id, prompt_id: 1, sample: 0, content, reasoning: null, finish_reason: "stop", completion_tokens: 5,
  answer, status: passed ? "passed" : "wrong", passed,
});

function row(pid: number, text: string, outcomes: [boolean, boolean, boolean]) {
  return {
    prompt_id: pid,
    text,
    reference: "42",
    models: (["base", "student", "teacher"] as const).map((role, i) => ({
      evaluation_id: 10 + i,
      label: role,
      role,
      passed: outcomes[i] ? 1 : 0,
      samples: [sample(pid * 10 + i, `${role} worked it out: ${outcomes[i] ? 42 : 41}`, outcomes[i] ? "42" : "41", outcomes[i])],
    })),
  };
}

describe("EvaluationPage", () => {
  it("shows scores, the per-prompt table, the filter and side-by-side answers", async () => {
    const fetchMock = mockApi({
      "GET /api/projects/1/runs/2": () => jsonResponse({ id: 2, status: "succeeded" }),
      "GET /api/projects/1/runs/2/evaluations": () =>
        jsonResponse([
          score("base", "base", 0.1, 10),
          score("student", "student", 0.5, 11, { backend: "vllm", served_prompt: "<|im_start|>user\nWhat is 40 + 2?<|im_end|>\n" }),
          score("teacher", "teacher", 0.9, 12, { verifiers: ["code"], verifiers_source: "the prompt set (164 prompts with tests)" }),
        ]),
      "GET /api/projects/1/runs/2/evaluations/by-prompt": (r) => {
        const q = new URL(r.url).searchParams;
        if (q.get("only") === "student_fails_teacher_passes")
          return jsonResponse({ items: [row(2, "What is 6 x 7?", [false, false, true])], next_cursor: null });
        if (q.get("cursor") === "c1") return jsonResponse({ items: [row(3, "Third", [true, true, true])], next_cursor: null });
        return jsonResponse({
          items: [row(1, "What is 40 + 2?", [true, true, true]), row(2, "What is 6 x 7?", [false, false, true])],
          next_cursor: "c1",
        });
      },
    });
    renderWithClient(<EvaluationPage projectId={1} runId={2} />);
    const scores = await screen.findAllByTestId("evaluation-score-row");
    expect(scores[1]).toHaveTextContent("student");
    expect(scores[1]).toHaveTextContent("50.0%");
    expect(scores[1]).toHaveTextContent("40.0% – 60.0%");
    // how the student generated, and the prompt as it was served (its chat template's render)
    expect(within(scores[1]).getByTestId("evaluation-backend")).toHaveTextContent("on vllm");
    expect(within(scores[1]).getByTestId("evaluation-served-prompt")).toHaveTextContent("<|im_start|>user");
    expect(within(scores[0]).queryByTestId("evaluation-served-prompt")).toBeNull();
    // which verifiers scored, and why those
    expect(within(scores[2]).getByTestId("evaluation-verifiers")).toHaveTextContent(
      "scored by code (from the prompt set (164 prompts with tests))",
    );
    expect(within(scores[0]).queryByTestId("evaluation-verifiers")).toBeNull();
    const rows = await screen.findAllByTestId("eval-row");
    expect(rows).toHaveLength(2);
    const outcomes = within(rows[1]).getAllByTestId("eval-outcome");
    expect(outcomes.map((o) => o.getAttribute("data-passed"))).toEqual(["false", "false", "true"]);

    await userEvent.click(screen.getByTestId("eval-more"));
    await waitFor(() => expect(screen.getAllByTestId("eval-row")).toHaveLength(3));

    await userEvent.click(screen.getByTestId("eval-filter-student_fails_teacher_passes"));
    await waitFor(() => expect(screen.getAllByTestId("eval-row")).toHaveLength(1));
    const calls = requestsTo(fetchMock, "/api/projects/1/runs/2/evaluations/by-prompt");
    expect(new URL(calls[calls.length - 1].url).searchParams.get("only")).toBe("student_fails_teacher_passes");

    await userEvent.click(screen.getByTestId("eval-row"));
    const side = screen.getByTestId("eval-side");
    const answers = within(side).getAllByTestId("eval-side-content").map((e) => e.textContent);
    expect(answers).toEqual(["base worked it out: 41", "student worked it out: 41", "teacher worked it out: 42"]);
  });

  it("updates by itself while the run is still going", async () => {
    let status = "running";
    mockApi({
      "GET /api/projects/1/runs/2": () => jsonResponse({ id: 2, status }),
      "GET /api/projects/1/runs/2/evaluations": () =>
        jsonResponse(status === "running" ? [] : [score("student", "student", 0.5, 11)]),
      "GET /api/projects/1/runs/2/evaluations/by-prompt": () =>
        jsonResponse({ items: status === "running" ? [] : [row(1, "What is 40 + 2?", [true, true, true])], next_cursor: null }),
    });
    renderWithClient(<EvaluationPage projectId={1} runId={2} />);
    expect(await screen.findByTestId("evaluation-none")).toHaveTextContent("the run is still going");
    status = "succeeded";
    expect(await screen.findByTestId("evaluation-score-row", {}, { timeout: 6000 })).toHaveTextContent("50.0%");
    expect(await screen.findByTestId("eval-row", {}, { timeout: 6000 })).toBeInTheDocument();
  }, 15_000);

  it("says when nothing matches and shows API errors", async () => {
    mockApi({
      "GET /api/projects/1/runs/2/evaluations": () => jsonResponse([]),
      "GET /api/projects/1/runs/2/evaluations/by-prompt": () =>
        jsonResponse({ error: { code: "not_found", message: "run 2 not found" } }, 404),
    });
    renderWithClient(<EvaluationPage projectId={1} runId={2} />);
    expect(await screen.findByTestId("evaluation-none")).toBeInTheDocument();
    expect(await screen.findByTestId("evaluation-error")).toHaveTextContent("run 2 not found");
  });
});
