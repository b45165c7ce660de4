import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import type { RunListItem } from "../../api/client";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { IDLE_REFRESH_MS, LIVE_REFRESH_MS, runsRefetchInterval } from "./ProjectPage";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "owner" };

function run(overrides: Partial<RunListItem>): RunListItem {
  return {
    id: 1,
    project_id: 3,
    name: "r",
    status: "queued",
    prompt_set_id: null,
    teacher_id: null,
    partly_failed: null,
    created_at: "2026-01-01T00:00:00",
    started_at: null,
    finished_at: null,
    ...overrides,
  };
}

describe("runsRefetchInterval", () => {
  it("polls fast while any run is unfinished and slowly otherwise", () => {
    expect(runsRefetchInterval([run({ status: "succeeded" }), run({ status: "running" })])).toBe(LIVE_REFRESH_MS);
    expect(runsRefetchInterval([run({ status: "cancelling" })])).toBe(LIVE_REFRESH_MS);
    expect(runsRefetchInterval([run({ status: "succeeded" }), run({ status: "failed" })])).toBe(IDLE_REFRESH_MS);
    expect(LIVE_REFRESH_MS).toBeLessThanOrEqual(2000);
  });
});

describe("project page", () => {
  it("refreshes the runs list live until the run finishes", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3");
    let status: RunListItem["status"] = "running";
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs": () =>
        jsonResponse({ items: [run({ id: 5, name: "nightly", status })], next_cursor: null }),
    });
    renderWithClient(<App />);

    const row = await screen.findByTestId("run-row");
    expect(within(row).getByTestId("run-name")).toHaveTextContent("nightly");
    expect(within(row).getByTestId("status-badge")).toHaveTextContent("running");

    status = "succeeded";
    await waitFor(() => expect(within(screen.getByTestId("run-row")).getByTestId("status-badge")).toHaveTextContent("succeeded"), {
      timeout: LIVE_REFRESH_MS + 2000,
    });
    expect(requestsTo(fetchMock, "/api/projects/3/runs").length).toBeGreaterThanOrEqual(2);
  });
});

describe("runs list item", () => {
  it("marks a succeeded run some of whose attempts failed, from the list item's partly_failed", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3");
    const note = "2 of 6 attempts failed (http 500: 2)";
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs": () =>
        jsonResponse({
          items: [
            run({ id: 6, name: "partly", status: "succeeded", partly_failed: note }),
            run({ id: 5, name: "clean", status: "succeeded" }),
          ],
          next_cursor: null,
        }),
    });
    renderWithClient(<App />);

    const rows = await screen.findAllByTestId("run-row");
    expect(within(rows[0]).getByTestId("partly-failed")).toHaveAttribute("title", note);
    expect(within(rows[1]).queryByTestId("partly-failed")).toBeNull();
  });
});
