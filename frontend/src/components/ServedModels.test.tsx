import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../test/helpers";
import { ServedModels } from "./ServedModels";

function served(over: Record<string, unknown> = {}) {
  return {
    id: 4,
    project_id: 1,
    artifact_id: 7,
    name: "student",
    status: "running",
    base_url: "http://127.0.0.1:8123/v1",
    teacher_id: 11,
    adapters: [{ name: "student", artifact_id: 7, teacher_id: 11 }],
    settings: {},
    pid: 99,
    host: "gpu-1",
    job_id: 3,
    error: null,
    created_at: "2026-01-01T00:00:00",
    started_at: "2026-01-01T00:00:05",
    stopped_at: null,
    heartbeat_at: "2026-01-01T00:01:00",
    ...over,
  };
}

function routes(role: string, items: unknown[]) {
  const sent: unknown[] = [];
  const fetchMock = mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", description: "", created_at: "2026-01-01", role }),
    "GET /api/projects/1/served": () => jsonResponse({ items, next_cursor: null }),
    "POST /api/projects/1/models/7/serve": async (r) => {
      sent.push(await r.json());
      return jsonResponse(served({ status: "queued", base_url: null, teacher_id: null }), 202);
    },
    "DELETE /api/projects/1/served/4": () => jsonResponse(served({ status: "stopping" }), 202),
  });
  return { fetchMock, sent };
}

describe("ServedModels", () => {
  it("serves a model under the name typed", async () => {
    const { fetchMock, sent } = routes("maintainer", [served({ status: "stopped", base_url: null, pid: null })]);
    renderWithClient(<ServedModels projectId={1} artifactId={7} />);
    expect(await screen.findByTestId("served-status")).toHaveTextContent("stopped");
    await userEvent.type(screen.getByTestId("serve-name"), "mine");
    await userEvent.click(screen.getByTestId("serve-button"));
    await waitFor(() => expect(sent).toEqual([{ name: "mine" }]));
    expect(requestsTo(fetchMock, "/api/projects/1/models/7/serve")).toHaveLength(1);
  });

  it("shows a running model's URL and stops it for maintainers only", async () => {
    const { fetchMock } = routes("maintainer", [served()]);
    renderWithClient(<ServedModels projectId={1} />);
    const row = await screen.findByTestId("served-row");
    expect(within(row).getByTestId("served-url")).toHaveTextContent("http://127.0.0.1:8123/v1");
    expect(screen.queryByTestId("serve-button")).not.toBeInTheDocument(); // the teachers page lists, never serves
    await userEvent.click(within(row).getByTestId("served-stop"));
    await waitFor(() => expect(requestsTo(fetchMock, "/api/projects/1/served/4").some((r) => r.method === "DELETE")).toBe(true));
  });

  it("gives viewers no buttons, and the teachers page nothing once none is live", async () => {
    routes("viewer", [served()]);
    const { unmount } = renderWithClient(<ServedModels projectId={1} artifactId={7} />);
    expect(await screen.findByTestId("served-row")).toBeInTheDocument();
    expect(screen.queryByTestId("served-stop")).not.toBeInTheDocument();
    expect(screen.queryByTestId("serve-button")).not.toBeInTheDocument();
    unmount();
    routes("maintainer", [served({ status: "failed", error: { code: "vllm", message: "ValueError: head size 12" } })]);
    renderWithClient(<ServedModels projectId={1} />);
    await waitFor(() => expect(screen.queryByTestId("served-models")).not.toBeInTheDocument());
  });
});
