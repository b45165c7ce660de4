import { describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithRouter, requestsTo } from "../../test/helpers";
import { heartbeatDelay, ReviewPage } from "./ReviewPage";
import { DecidedHere } from "./ReviewParts";
import type { Made } from "./useReviewQueue";
import { render } from "@testing-library/react";

const BASE = "/api/projects/1/runs/2/review";

function item(taskId: number, extra: Record<string, unknown> = {}) {
  return {
    task_id: taskId,
    run_id: 2,
    generation_id: 100 + taskId,
    reason: "judge_rejected",
    lease_until: new Date(Date.now() + 600_000).toISOString(),
    prompt: [{ role: "user", content: `What is $6 \\times ${taskId}$?` }],
    reference: String(6 * taskId),
    reasoning: "6 times it is...",
    content: `Answer: ${6 * taskId + 1}`,
    verdicts: [
      { verifier: "math", version: "1", status: "passed", passed: true, score: null, detail: { answer: "7" } },
      {
        verifier: "judge",
        version: "1",
        status: "wrong",
        passed: false,
        score: 1,
        detail: { rationale: "The product is off by one.", thresholds: { accept: 5, reject: 3 } },
      },
    ],
    ...extra,
  };
}

const queue = {
  run_id: 2,
  stage_status: "running",
  states: { open: 3, leased: 1 },
  by_reason: { judge_rejected: 3 },
  slots_by_reason: { judge_rejected: 4 },
  pairs: [{ reviewers: [7, 8], items: 5, kappa: 0.6 }],
  alpha: 0.55,
  reviewers: [{ reviewer_id: 7, decided: 5, overlap_items: 5, agreement: 0.8 }],
};

let sentBodies: unknown[] = [];

function routes(role: string, over: Record<string, (r: Request) => Response | Promise<Response>> = {}) {
  let next = 1;
  sentBodies = [];
  return mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", description: "", created_at: "2026-01-01", role }),
    [`GET ${BASE}`]: () => jsonResponse(queue),
    "GET /api/projects/1/members": () =>
      jsonResponse([
        { user_id: 7, email: "ada@x.org", name: "Ada", role: "reviewer", created_at: "2026-01-01" },
        { user_id: 8, email: "bob@x.org", name: "Bob", role: "reviewer", created_at: "2026-01-01" },
      ]),
    [`POST ${BASE}/claim`]: () => jsonResponse({ item: item(next++), left: 4 - next }),
    [`POST ${BASE}/items/1/decision`]: async (r) => {
      const body = await r.json();
      sentBodies.push(body);
      return jsonResponse({
        id: 50,
        task_id: 1,
        generation_id: 101,
        reviewer_id: 7,
        decision: body.decision,
        before: body.decision === "edit" ? { content: "Answer: 7", reasoning: "6 times it is..." } : null,
        after: body.decision === "edit" ? { content: body.content, reasoning: "6 times it is..." } : null,
        note: "",
        undone: false,
        created_at: "2026-01-01T00:00:00",
      });
    },
    [`POST ${BASE}/undo`]: () => jsonResponse(item(1)),
    [`GET ${BASE}/log`]: () =>
      jsonResponse([
        {
          id: 40, task_id: 9, generation_id: 109, reviewer_id: 8, decision: "edit",
          before: { content: "Answer: 55", reasoning: "r" }, after: { content: "Answer: 54", reasoning: "r" },
          note: "off by one", undone: false, created_at: "2026-01-01T00:00:00",
        },
      ]),
    ...over,
  });
}

describe("ReviewPage", () => {
  it("shows why the judge rejected, decides with the keyboard only, and undoes", async () => {
    const fetchMock = routes("reviewer");
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    const current = await screen.findByTestId("review-item");
    expect(current).toHaveAttribute("data-task-id", "1");
    expect(screen.getByTestId("review-rationale")).toHaveTextContent("The product is off by one.");
    expect(screen.getByTestId("review-judge-score")).toHaveTextContent("score 1");
    expect(screen.getByTestId("review-judge-score")).toHaveTextContent("accept ≥ 5, reject < 3");
    expect(screen.getByTestId("review-disagree")).toHaveTextContent("The judge says fail; a verifier says pass");
    expect(screen.getByTestId("review-reason")).toHaveTextContent("judge rejected");
    expect(screen.getByTestId("review-prompt").querySelector(".katex")).not.toBeNull(); // LaTeX rendered
    // agreement numbers with the reviewers' names
    expect(await screen.findByText("Ada · Bob")).toBeInTheDocument();
    expect(screen.getByTestId("review-alpha")).toHaveTextContent("0.55");
    // reasons in attempts (as the run's review summary counts them), the slots labelled beside
    expect(screen.getByTestId("review-reason-judge_rejected")).toHaveTextContent(/^3 attempts \(4 slots\)$/);

    await userEvent.keyboard("r");
    await waitFor(() => expect(screen.getByTestId("review-item")).toHaveAttribute("data-task-id", "2"));
    expect(requestsTo(fetchMock, `${BASE}/items/1/decision`)).toHaveLength(1);
    expect(sentBodies).toEqual([{ decision: "reject", note: "" }]);
    expect(screen.getByTestId("review-history")).toHaveTextContent("#101 reject");

    // k shows the decision just made, j comes back to the current item
    await userEvent.keyboard("k");
    expect(screen.getByTestId("review-past")).toHaveAttribute("data-decision", "reject");
    await userEvent.keyboard("a"); // not while looking at a past decision
    expect(requestsTo(fetchMock, `${BASE}/items/2/decision`)).toHaveLength(0);
    await userEvent.keyboard("j");
    expect(screen.getByTestId("review-item")).toHaveAttribute("data-task-id", "2");

    await userEvent.keyboard("u");
    await waitFor(() => expect(screen.getByTestId("review-item")).toHaveAttribute("data-task-id", "1"));
    expect(requestsTo(fetchMock, `${BASE}/undo`)).toHaveLength(1);
    expect(screen.queryByTestId("review-history")).not.toBeInTheDocument();
  });

  it("edits beside the original and shows both afterwards", async () => {
    const fetchMock = routes("reviewer");
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    await screen.findByTestId("review-item");
    await userEvent.keyboard("e");
    const box = screen.getByTestId("review-edit-content");
    expect(box).toHaveValue("Answer: 7");
    await userEvent.clear(box);
    await userEvent.type(box, "Answer: 6"); // typing "a" or "e" in the box is text, not a shortcut
    expect(requestsTo(fetchMock, `${BASE}/items/1/decision`)).toHaveLength(0);
    fireEvent.keyDown(box, { key: "Enter", ctrlKey: true });
    await waitFor(() => expect(screen.getByTestId("review-item")).toHaveAttribute("data-task-id", "2"));
    expect(sentBodies).toEqual([{ decision: "edit", note: "", content: "Answer: 6" }]);
    await userEvent.keyboard("k");
    expect(screen.getByTestId("review-before-content")).toHaveTextContent("Answer: 7");
    expect(screen.getByTestId("review-after-content")).toHaveTextContent("Answer: 6");
  }, 20_000);

  it("overrides the verifiers on an edit only with a note saying why", async () => {
    const fetchMock = routes("reviewer");
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    await screen.findByTestId("review-item");
    await userEvent.keyboard("e");
    const box = screen.getByTestId("review-edit-content");
    await userEvent.clear(box);
    await userEvent.type(box, "Answer: 6");
    await userEvent.click(screen.getByTestId("review-edit-override"));
    await userEvent.click(screen.getByTestId("review-edit-save"));
    expect(await screen.findByText(/Say in the note why the edit stands/)).toBeInTheDocument();
    expect(requestsTo(fetchMock, `${BASE}/items/1/decision`)).toHaveLength(0);
    await userEvent.type(screen.getByTestId("review-edit-note"), "the reference is wrong");
    await userEvent.click(screen.getByTestId("review-edit-save"));
    await waitFor(() => expect(screen.getByTestId("review-item")).toHaveAttribute("data-task-id", "2"));
    expect(sentBodies).toEqual([
      { decision: "edit", note: "the reference is wrong", content: "Answer: 6", admit_if_rejected: true },
    ]);
  }, 20_000);

  it("shows the verifiers' verdict beside each edit in the log, and looks again while one is pending", async () => {
    let verdict: Record<string, unknown> = { status: "pending", passed: null };
    const logRow = () => ({
      id: 40, task_id: 9, generation_id: 109, reviewer_id: 8, decision: "edit", note: "", undone: false,
      before: { content: "Answer: 55", reasoning: "r" }, after: { content: "Answer: 54", reasoning: "r", verdict },
      created_at: "2026-01-01T00:00:00",
    });
    const fetchMock = routes("viewer", { [`GET ${BASE}/log`]: () => jsonResponse([logRow()]) });
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    const row = await screen.findByTestId("review-log-row");
    expect(within(row).getByTestId("edit-verdict")).toHaveTextContent("verifying the edited text");
    verdict = { status: "wrong", passed: false, verifier: "math" };
    await waitFor(
      () => expect(within(screen.getByTestId("review-log-row")).getByTestId("edit-verdict")).toHaveAttribute("data-status", "wrong"),
      { timeout: 5000 },
    );
    expect(screen.getByTestId("edit-verdict")).toHaveTextContent("math: wrong; left out of the snapshot");
    const polls = requestsTo(fetchMock, `${BASE}/log`).length;
    expect(polls).toBeGreaterThanOrEqual(2);
  }, 20_000);

  it("says before deciding that an attempt cut at max_tokens can never be accepted", async () => {
    routes("reviewer", {
      [`POST ${BASE}/claim`]: () => jsonResponse({ item: item(1, { not_admissible: "truncated" }), left: 3 }),
    });
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    const warning = await screen.findByTestId("review-not-admissible");
    expect(warning).toHaveTextContent("can never be admitted into a snapshot (truncated: the teacher stopped at max_tokens)");
    expect(warning).toHaveTextContent("reject it.");
    expect(warning).not.toHaveTextContent("edit it");
  });

  it("lists the shortcuts on ?", async () => {
    routes("reviewer");
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    await screen.findByTestId("review-item");
    await userEvent.keyboard("?");
    const help = screen.getByTestId("review-help");
    for (const key of ["j", "k", "a", "r", "e", "s", "u"]) expect(help).toHaveTextContent(key);
    expect(help).toHaveTextContent("undo your last decision");
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByTestId("review-help")).not.toBeInTheDocument();
  });

  it("says clearly when the lease expired, and claims again", async () => {
    const fetchMock = routes("reviewer", {
      [`POST ${BASE}/items/1/decision`]: () =>
        jsonResponse(
          { error: { code: "lease_expired", message: "your lease on review item 1 expired at 2026-01-01 00:10:00Z; claim again" } },
          409,
        ),
    });
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    await screen.findByTestId("review-item");
    await userEvent.keyboard("a");
    const alert = await screen.findByTestId("review-lease-lost");
    expect(alert).toHaveTextContent("Your lease on this item is gone.");
    expect(alert).toHaveTextContent("expired at 2026-01-01 00:10:00Z");
    expect(screen.getByTestId("review-accept")).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Claim again" }));
    await waitFor(() => expect(requestsTo(fetchMock, `${BASE}/claim`)).toHaveLength(2));
    await waitFor(() => expect(screen.queryByTestId("review-lease-lost")).not.toBeInTheDocument());
  });

  it("keeps the lease alive with heartbeats while the item is open", async () => {
    const fetchMock = routes("reviewer", {
      [`POST ${BASE}/claim`]: () =>
        jsonResponse({ item: item(1, { lease_until: new Date(Date.now() + 3000).toISOString() }), left: 3 }),
      [`POST ${BASE}/items/1/heartbeat`]: () =>
        jsonResponse(item(1, { lease_until: new Date(Date.now() + 600_000).toISOString() })),
    });
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    await screen.findByTestId("review-item");
    await waitFor(() => expect(requestsTo(fetchMock, `${BASE}/items/1/heartbeat`)).toHaveLength(1), {
      timeout: 4000,
    });
    expect(heartbeatDelay(new Date(Date.now() + 90_000).toISOString())).toBeGreaterThan(25_000);
    expect(heartbeatDelay(new Date(Date.now() - 1000).toISOString())).toBe(2000);
  });

  it("is read-only for viewers: no claim, no decision buttons", async () => {
    const fetchMock = routes("viewer");
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    expect(await screen.findByTestId("review-readonly")).toHaveTextContent("read-only");
    expect(await screen.findByTestId("review-agreement")).toBeInTheDocument();
    await userEvent.keyboard("a");
    expect(requestsTo(fetchMock, `${BASE}/claim`)).toHaveLength(0);
    expect(screen.queryByTestId("review-accept")).not.toBeInTheDocument();
    // the audit log: who decided what, an edit shown beside its original
    const row = await screen.findByTestId("review-log-row");
    expect(row).toHaveTextContent("Bob");
    expect(row).toHaveTextContent("#109");
    await userEvent.click(screen.getByRole("button", { name: "show both" }));
    expect(screen.getByTestId("review-before-content")).toHaveTextContent("Answer: 55");
    expect(screen.getByTestId("review-after-content")).toHaveTextContent("Answer: 54");
  });

  it("numbers the decisions made here in full from 10 on", () => {
    const made = Array.from({ length: 12 }, (_, i) => ({
      decision: { id: i + 1, decision: "accept" },
      item: { generation_id: 200 + i },
    })) as unknown as Made[];
    render(<DecidedHere made={made} view={null} onView={() => {}} />);
    const rows = screen.getByTestId("review-history").querySelectorAll("li");
    expect(rows).toHaveLength(12);
    expect(rows[0]).toHaveTextContent(/^1\. #200 accept$/);
    expect(rows[9]).toHaveTextContent(/^10\. #209 accept$/);
    expect(rows[11]).toHaveTextContent(/^12\. #211 accept$/);
  });

  it("after Close review the header counts what the queue says, not the last claim", async () => {
    let closed = false;
    const fetchMock = routes("maintainer", {
      [`POST ${BASE}/claim`]: () => jsonResponse({ item: item(1), left: 305 }),
      [`POST ${BASE}/close`]: () => {
        closed = true;
        return jsonResponse({ closed: 305 });
      },
      [`GET ${BASE}`]: () =>
        jsonResponse(closed ? { ...queue, stage_status: "succeeded", states: { closed: 305, done: 1 } } : queue),
    });
    vi.spyOn(window, "confirm").mockReturnValue(true);
    renderWithRouter(<ReviewPage projectId={1} runId={2} />);
    await screen.findByTestId("review-item");
    expect(screen.getByTestId("review-left")).toHaveTextContent("305 left");
    await userEvent.click(screen.getByRole("button", { name: "Close review" }));
    await waitFor(() => expect(requestsTo(fetchMock, `${BASE}/close`)).toHaveLength(1));
    await waitFor(() => expect(screen.getByTestId("review-left")).toHaveTextContent(/^0 left$/));
    expect(await screen.findByTestId("review-not-waiting")).toHaveTextContent("succeeded");
  });
});
