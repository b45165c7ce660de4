import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonResponse, mockApi, renderWithRouter } from "../../test/helpers";
import { TracePage } from "./TracePage";

const URL_ = "/api/projects/3/runs/5/generations/77";

function detail(reasoning: string) {
  return {
    generation: {
      id: 77, run_id: 5, prompt_id: 9, attempt: 1, status: "ok", reasoning,
      content: "So the area is $\\pi r^2$, i.e. \\boxed{12}.", finish_reason: "stop", truncated: false, error: null,
      prompt_tokens: 40, completion_tokens: 51234, latency_ms: 900, from_cache: false, accepted: false,
      created_at: "2026-12-01T00:00:00Z",
    },
    prompt: { id: 9, position: 4, text: "What is \\(\\int_0^1 x\\,dx\\)?", system: null, reference: "$\\frac{1}{2}$" },
    verdicts: [
      { id: 1, generation_id: 77, verifier: "math", verifier_version: "2", status: "wrong", passed: false, score: null,
        detail: { expected: "1/2", got: "12" }, duration_ms: 3.5, created_at: "2026-12-01T00:00:00Z" },
      { id: 2, generation_id: 77, verifier: "judge", verifier_version: "3", status: "wrong", passed: false, score: 2,
        detail: { rationale: "The final step drops **a factor** of $r$.", thresholds: { accept: 7, reject: 4 } },
        duration_ms: 800, created_at: "2026-12-01T00:00:00Z" },
    ],
  };
}

describe("TracePage", () => {
  it("pins the answer beside the reference, renders LaTeX, and shows each verifier and the judge", async () => {
    mockApi({ [`GET ${URL_}`]: () => jsonResponse(detail("Let me think about $x$.")) });
    renderWithRouter(<TracePage projectId={3} runId={5} generationId={77} />);
    const trace = await screen.findByTestId("trace");
    const pinned = within(trace).getByTestId("trace-pinned");
    expect(within(pinned).getByTestId("trace-answer")).toHaveTextContent("Final answer");
    expect(within(pinned).getByTestId("trace-answer").querySelector(".katex")).not.toBeNull();
    expect(within(pinned).getByTestId("trace-reference").querySelector(".katex")).not.toBeNull();
    // \( \) in the prompt becomes KaTeX too
    expect(within(trace).getByTestId("trace-prompt").querySelector(".katex")).not.toBeNull();
    expect(within(trace).getByTestId("verdict-badge")).toHaveTextContent("rejected");
    const row = within(trace).getByTestId("verdict-row");
    expect(row).toHaveAttribute("data-verifier", "math");
    expect(row).toHaveTextContent("wrong");
    const judge = within(trace).getByTestId("judge-verdict");
    expect(within(judge).getByTestId("judge-score")).toHaveTextContent("2");
    expect(judge).toHaveTextContent("accept ≥ 7, reject < 4");
    expect(judge.querySelector("strong")).not.toBeNull();
    expect(judge.querySelector(".judge-rationale")).toHaveTextContent("The final step drops a factor of");
  });

  it("shows a reviewer's edit beside the original with the verifiers' verdict on it", async () => {
    const edit = (id: number, verdict: Record<string, unknown> | null, extra: Record<string, unknown> = {}) => ({
      id, task_id: 1, generation_id: 77, reviewer_id: 8, decision: "edit", note: "fixed the sum", undone: false,
      before: { content: "\\boxed{12}", reasoning: null },
      after: { content: "\\boxed{1/2}", reasoning: null, ...(verdict ? { verdict } : {}), ...extra },
      created_at: "2026-12-01T00:00:00Z",
    });
    mockApi({
      [`GET ${URL_}`]: () => jsonResponse(detail("short")),
      "GET /api/projects/3/runs/5/review/log": (r) => {
        expect(new URL(r.url).searchParams.get("generation_id")).toBe("77");
        return jsonResponse([
          edit(10, { status: "wrong", passed: false, verifier: "math" }),
          { ...edit(11, { status: "passed", passed: true, verifier: "math" }), undone: true }, // taken back
          edit(12, { status: "wrong", passed: false, verifier: "math" }, { override: true }),
          edit(13, { status: "error", passed: null, error: "sandbox died" }),
        ]);
      },
    });
    renderWithRouter(<TracePage projectId={3} runId={5} generationId={77} />);
    const edits = await screen.findAllByTestId("trace-edit");
    expect(edits).toHaveLength(3); // the undone one is not shown
    const verdicts = edits.map((e) => within(e).getByTestId("edit-verdict"));
    expect(verdicts.map((v) => v.getAttribute("data-status"))).toEqual(["wrong", "wrong", "error"]);
    expect(verdicts[0]).toHaveTextContent("math: wrong; left out of the snapshot");
    expect(verdicts[1]).toHaveTextContent("admitted on the reviewer's override");
    expect(verdicts[2]).toHaveTextContent("the verifier failed (sandbox died); the snapshot checks it again");
    expect(within(edits[0]).getByTestId("review-after-content")).toHaveTextContent("\\boxed{1/2}");
    expect(edits[0]).toHaveTextContent("fixed the sum");
  });

  it("shows no edits section for an attempt nobody edited", async () => {
    mockApi({
      [`GET ${URL_}`]: () => jsonResponse(detail("short")),
      "GET /api/projects/3/runs/5/review/log": () => jsonResponse([]),
    });
    renderWithRouter(<TracePage projectId={3} runId={5} generationId={77} />);
    await screen.findByTestId("trace");
    await waitFor(() => expect(screen.queryByTestId("trace-edits")).not.toBeInTheDocument());
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  afterEach(() => vi.restoreAllMocks());

  it("keeps a 200k-character reasoning collapsed, then mounts only a few chunks of it", async () => {
    // jsdom has no layout: give each chunk the height a browser would, so the virtualiser can count
    vi.spyOn(HTMLElement.prototype, "offsetHeight", "get").mockImplementation(function (this: HTMLElement) {
      return this.dataset.testid === "reasoning-chunk" ? 600 : 0;
    });
    vi.spyOn(Element.prototype, "clientHeight", "get").mockImplementation(function (this: Element) {
      return this.getAttribute("data-testid") === "reasoning-scroll" ? 700 : 0;
    });
    const para = "We consider the sum $\\sum_{k=1}^{n} k$ and check each step carefully. ".repeat(20);
    const reasoning = Array.from({ length: 150 }, (_, i) => `Step ${i}. ${para}`).join("\n\n");
    expect(reasoning.length).toBeGreaterThan(200_000);
    mockApi({ [`GET ${URL_}`]: () => jsonResponse(detail(reasoning)) });
    renderWithRouter(<TracePage projectId={3} runId={5} generationId={77} />);
    const section = await screen.findByTestId("reasoning");
    expect(within(section).getByTestId("reasoning-size")).toHaveTextContent(/^[\d,]+ characters · 51,234 completion tokens$/);
    expect(within(section).queryByTestId("reasoning-chunk")).toBeNull();
    await userEvent.click(within(section).getByTestId("reasoning-toggle"));
    const scroll = await within(section).findByTestId("reasoning-scroll");
    const total = Number(scroll.getAttribute("data-chunks"));
    expect(total).toBeGreaterThanOrEqual(50);
    const mounted = within(section).getAllByTestId("reasoning-chunk");
    expect(mounted.length).toBeGreaterThan(0);
    expect(mounted.length).toBeLessThan(10);
    expect(mounted[0]).toHaveTextContent("Step 0.");
    expect(mounted[0].querySelector(".katex")).not.toBeNull();
    expect((scroll.textContent ?? "").length).toBeLessThan(reasoning.length / 5);
    // plain text mode shows the same chunk without rendering it
    await userEvent.click(within(section).getByLabelText("plain text"));
    await waitFor(() => expect(within(section).getAllByTestId("reasoning-chunk")[0].querySelector("pre.plain")).not.toBeNull());
    await userEvent.click(within(section).getByTestId("reasoning-toggle"));
    expect(within(section).queryByTestId("reasoning-chunk")).toBeNull();
  }, 30_000);

  it("shows the API's error message", async () => {
    mockApi({ [`GET ${URL_}`]: () => jsonResponse({ error: { code: "not_found", message: "generation not found" } }, 404) });
    renderWithRouter(<TracePage projectId={3} runId={5} generationId={77} />);
    expect(await screen.findByTestId("trace-error")).toHaveTextContent("generation not found");
  });
});
