import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { SamplesSearch } from "../../routes";
import { jsonResponse, mockApi, renderWithRouter, requestsTo } from "../../test/helpers";
import { apiQuery, SamplesPage } from "./SamplesPage";

const LIST = "/api/projects/3/runs/5/generations";

function row(id: number, extra: Record<string, unknown> = {}) {
  return {
    id, run_id: 5, prompt_id: 100 + id, attempt: 0, status: "ok", reasoning: null, content: `answer ${id}`,
    finish_reason: "stop", truncated: false, error: null, prompt_tokens: 10, completion_tokens: 200 + id,
    latency_ms: 5, from_cache: false, accepted: true, created_at: "2026-12-01T00:00:00Z", judge_score: 7.5,
    prompt_preview: `prompt ${id}`, ...extra,
  };
}

const runDetail = {
  id: 5, project_id: 3, name: "nightly", status: "succeeded", recipe: {}, prompt_set_id: 1, teacher_id: 1,
  summary: { filter: { by_verifier: { math: {}, all: {} } }, judge: { accepted: 1 } }, warnings: [], error: null,
  created_at: "2026-12-01T00:00:00Z", started_at: null, finished_at: null, stages: [],
};

function setup(search: SamplesSearch, page: unknown = { items: [row(1), row(2, { accepted: null, finish_reason: "length", truncated: true, judge_score: null })], next_cursor: "NEXT", prev_cursor: "PREV" }) {
  const fetchMock = mockApi({
    "GET /api/projects/3/runs/5": () => jsonResponse(runDetail),
    [`GET ${LIST}`]: () => jsonResponse(page),
  });
  const onSearch = vi.fn();
  const r = renderWithRouter(<SamplesPage projectId={3} runId={5} search={search} onSearch={onSearch} />);
  return { fetchMock, onSearch, ...r };
}

describe("sample browser search params", () => {
  it("map onto the API's filters", () => {
    const search = { verdict: "rejected", verifier: "math", verifier_result: "fail", score_min: 2, score_max: 8, q: "integral", finish_reason: "length" };
    // the URL's names are the API's: the query is the search params as they are (cursor aside)
    expect(apiQuery({ ...search, cursor: "abc" })).toEqual({ limit: 50, reasoning: false, ...search, cursor: "abc" });
    expect(apiQuery({ verifier: "math", verifier_result: "bogus" })).toEqual({ limit: 50, reasoning: false, verifier: "math" });
    expect(apiQuery({ verdict: "nonsense", cursor: "last" })).toEqual({ limit: 50, reasoning: false, last: true });
  });
});

describe("SamplesPage", () => {
  it("asks the API with the URL's filters and shows the page's rows", async () => {
    const { fetchMock } = setup({ verdict: "accepted", verifier: "math", verifier_result: "pass", q: "integral" });
    const rows = await screen.findAllByTestId("sample-row");
    expect(rows.map((r) => r.getAttribute("data-generation-id"))).toEqual(["1", "2"]);
    expect(rows[0]).toHaveTextContent("prompt 1");
    expect(rows[0]).toHaveTextContent("answer 1");
    expect(within(rows[0]).getByTestId("verdict-badge")).toHaveTextContent("accepted");
    expect(rows[0]).toHaveTextContent("7.5");
    expect(within(rows[1]).getByTestId("verdict-badge")).toHaveTextContent("unverified");
    expect(rows[1]).toHaveTextContent("length");
    const url = new URL(requestsTo(fetchMock, LIST).at(-1)!.url);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      limit: "50", reasoning: "false", verdict: "accepted", verifier: "math", verifier_result: "pass", q: "integral",
    });
    // the verifier list comes from the run's filter and judge summaries
    const options = within(screen.getByTestId("filter-verifier")).getAllByRole("option").map((o) => o.textContent);
    expect(options).toEqual(["any", "math", "all", "judge"]);
  });

  it("changes a filter through onSearch and starts again from the first page", async () => {
    const { onSearch } = setup({ cursor: "abc" });
    await screen.findAllByTestId("sample-row");
    await userEvent.selectOptions(screen.getByTestId("filter-verdict"), "rejected");
    expect(onSearch).toHaveBeenLastCalledWith({ verdict: "rejected", cursor: undefined });
    await userEvent.selectOptions(screen.getByTestId("filter-verifier"), "math");
    expect(onSearch).toHaveBeenLastCalledWith({ verifier: "math", cursor: undefined });
    await userEvent.selectOptions(screen.getByTestId("filter-finish"), "length");
    expect(onSearch).toHaveBeenLastCalledWith({ finish_reason: "length", cursor: undefined });
  });

  it("applies prompt text and score range together, refusing bad ones with a message", async () => {
    const { onSearch } = setup({});
    await screen.findAllByTestId("sample-row");
    await userEvent.type(screen.getByTestId("filter-q"), "ab");
    await userEvent.click(screen.getByTestId("filter-apply"));
    expect(screen.getByTestId("filter-problem")).toHaveTextContent("at least 3 characters");
    expect(onSearch).not.toHaveBeenCalled();
    await userEvent.type(screen.getByTestId("filter-q"), "c");
    await userEvent.type(screen.getByTestId("filter-score-min"), "8");
    await userEvent.type(screen.getByTestId("filter-score-max"), "3");
    await userEvent.click(screen.getByTestId("filter-apply"));
    expect(screen.getByTestId("filter-problem")).toHaveTextContent("minimum is above the maximum");
    expect(onSearch).not.toHaveBeenCalled();
    await userEvent.clear(screen.getByTestId("filter-score-max"));
    await userEvent.type(screen.getByTestId("filter-score-max"), "9.5{Enter}");
    expect(onSearch).toHaveBeenLastCalledWith({ q: "abc", score_min: 8, score_max: 9.5, cursor: undefined });
    expect(screen.queryByTestId("filter-problem")).toBeNull();
  });

  it("pages by cursor: next, previous, first and last", async () => {
    const { onSearch } = setup({ cursor: "abc" });
    await screen.findAllByTestId("sample-row");
    await userEvent.click(screen.getByTestId("page-next"));
    expect(onSearch).toHaveBeenLastCalledWith({ cursor: "NEXT" });
    await userEvent.click(screen.getByTestId("page-prev"));
    expect(onSearch).toHaveBeenLastCalledWith({ cursor: "PREV" });
    await userEvent.click(screen.getByTestId("page-first"));
    expect(onSearch).toHaveBeenLastCalledWith({ cursor: undefined });
    await userEvent.click(screen.getByTestId("page-last"));
    expect(onSearch).toHaveBeenLastCalledWith({ cursor: "last" });
  });

  it("on the first page, first and previous are off", async () => {
    setup({}, { items: [row(1)], next_cursor: "N", prev_cursor: null });
    await screen.findAllByTestId("sample-row");
    expect(screen.getByTestId("page-first")).toBeDisabled();
    expect(screen.getByTestId("page-prev")).toBeDisabled();
    expect(screen.getByTestId("page-next")).toBeEnabled();
    expect(screen.getByTestId("page-last")).toBeEnabled();
  });

  it("on the last page, next and last are off", async () => {
    setup({ cursor: "last" }, { items: [row(9)], next_cursor: null, prev_cursor: "P" });
    await screen.findAllByTestId("sample-row");
    expect(screen.getByTestId("page-next")).toBeDisabled();
    expect(screen.getByTestId("page-last")).toBeDisabled();
    expect(screen.getByTestId("page-prev")).toBeEnabled();
    expect(screen.getByTestId("page-first")).toBeEnabled();
  });

  it("opens the trace view from a row", async () => {
    const { router } = setup({});
    const rows = await screen.findAllByTestId("sample-row");
    await userEvent.click(within(rows[1]).getByText("prompt 2"));
    await waitFor(() => expect(router.state.location.pathname).toBe("/projects/3/runs/5/samples/2"));
  });

  it("follows a running run: the page shown is asked for again", async () => {
    let served = 0;
    const fetchMock = mockApi({
      "GET /api/projects/3/runs/5": () => jsonResponse({ ...runDetail, status: "running" }),
      [`GET ${LIST}`]: () => jsonResponse({ items: served++ === 0 ? [row(1)] : [row(1), row(2)], next_cursor: null, prev_cursor: null }),
    });
    renderWithRouter(<SamplesPage projectId={3} runId={5} search={{}} onSearch={vi.fn()} />);
    expect(await screen.findAllByTestId("sample-row")).toHaveLength(1);
    await waitFor(() => expect(screen.getAllByTestId("sample-row")).toHaveLength(2), { timeout: 8000 });
    expect(requestsTo(fetchMock, LIST).length).toBeGreaterThanOrEqual(2);
  }, 12_000);

  it("says when nothing matches, and shows the API's error message", async () => {
    setup({ q: "zzz" }, { items: [], next_cursor: null, prev_cursor: null });
    expect(await screen.findByTestId("samples-empty")).toBeInTheDocument();
  });

  it("shows a 422 from the API with its message", async () => {
    mockApi({
      "GET /api/projects/3/runs/5": () => jsonResponse(runDetail),
      [`GET ${LIST}`]: () => jsonResponse({ error: { code: "validation_error", message: "score_min is above score_max" } }, 422),
    });
    renderWithRouter(<SamplesPage projectId={3} runId={5} search={{ score_min: 9, score_max: 1 }} onSearch={vi.fn()} />);
    expect(await screen.findByTestId("samples-error")).toHaveTextContent("score_min is above score_max");
  });
});
