import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../test/helpers";
import { Generations } from "./Generations";

function gen(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    run_id: 5,
    prompt_id: 100 + id,
    attempt: 0,
    status: "ok",
    reasoning: "first add, then carry",
    content: `The answer is ${id}.`,
    finish_reason: "stop",
    truncated: false,
    error: null,
    prompt_tokens: 12,
    completion_tokens: 40,
    latency_ms: 300,
    from_cache: false,
    created_at: "2026-01-01T00:00:00",
    ...overrides,
  };
}

describe("Generations", () => {
  it("pages through a run's generations and filters failures", async () => {
    const fetchMock = mockApi({
      "GET /api/projects/3/runs/5/generations": (req) => {
        const url = new URL(req.url);
        if (url.searchParams.get("status") === "failed") {
          return jsonResponse({ items: [gen(9, { status: "failed", content: null, reasoning: null, error: "http 500 after 6 tries" })], next_cursor: null });
        }
        if (url.searchParams.get("cursor") === "c2") return jsonResponse({ items: [gen(3)], next_cursor: null });
        return jsonResponse({ items: [gen(1), gen(2, { truncated: true, finish_reason: "length" })], next_cursor: "c2" });
      },
    });
    const u = userEvent.setup();
    renderWithClient(<Generations projectId={3} runId={5} live={false} />);

    const rows = await screen.findAllByTestId("generation");
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByTestId("generation-content")).toHaveTextContent("The answer is 1.");
    expect(within(rows[1]).getByTestId("generation-truncated")).toBeInTheDocument();
    await u.click(screen.getByTestId("generations-more"));
    expect(await screen.findAllByTestId("generation")).toHaveLength(3);

    await u.selectOptions(screen.getByTestId("generations-filter"), "failed");
    const failed = await screen.findByText("http 500 after 6 tries");
    expect(failed.closest("li")).toHaveAttribute("data-status", "failed");
    const last = requestsTo(fetchMock, "/api/projects/3/runs/5/generations").at(-1)!;
    expect(new URL(last.url).searchParams.get("status")).toBe("failed");
  });
});
