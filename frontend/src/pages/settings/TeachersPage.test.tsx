import { describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../../test/helpers";
import { TeachersPage } from "./TeachersPage";

const teacher = {
  id: 3,
  project_id: 1,
  name: "gpt",
  backend: "openai_compat",
  model: "gpt-4o",
  base_url: "https://api.openai.com/v1",
  has_api_key: true,
  licence: "api_no_compete",
  settings: { price_input_per_m: 2.5 },
  created_at: "2026-01-01T00:00:00",
  updated_at: "2026-01-01T00:00:00",
};

function routes(role: string, over = {}) {
  const sent: Record<string, unknown>[] = [];
  const fetchMock = mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", description: "", created_at: "2026-01-01", role }),
    "GET /api/projects/1/teachers": () => jsonResponse([teacher, { ...teacher, id: 4, name: "local", has_api_key: false, licence: "open_weights", base_url: null }]),
    "POST /api/projects/1/teachers": async (r) => {
      sent.push(await r.json());
      return jsonResponse({ ...teacher, id: 5 }, 201);
    },
    "PATCH /api/projects/1/teachers/3": async (r) => {
      sent.push(await r.json());
      return jsonResponse(teacher);
    },
    "DELETE /api/projects/1/teachers/3": () => new Response(null, { status: 204 }),
    ...over,
  });
  return { fetchMock, sent };
}

describe("TeachersPage", () => {
  it("shows keys as set or unset and the licence terms, never a key", async () => {
    routes("viewer");
    renderWithClient(<TeachersPage projectId={1} />);
    const rows = await screen.findAllByTestId("teacher-row");
    expect(within(rows[0]).getByTestId("teacher-key")).toHaveTextContent("set");
    expect(within(rows[1]).getByTestId("teacher-key")).toHaveTextContent("unset");
    expect(within(rows[0]).getByTestId("teacher-terms")).toHaveTextContent("forbid using outputs to train models");
    expect(screen.queryByTestId("teacher-new")).not.toBeInTheDocument(); // viewers cannot edit
    expect(screen.queryByRole("button", { name: "Edit" })).not.toBeInTheDocument();
    expect(within(rows[0]).getByTestId("teacher-speed")).toHaveTextContent("not measured");
    expect(screen.queryByTestId("teacher-probe-start")).not.toBeInTheDocument(); // nor measure speed
  });

  it("creates a teacher with a write-only key and shows the API's error at the form", async () => {
    const { sent } = routes("maintainer", {
      "POST /api/projects/1/teachers": async (r: Request) => {
        const body = await r.json();
        if (!body.base_url?.startsWith("http"))
          return jsonResponse(
            { error: { code: "invalid", message: "Request is invalid", fields: [{ path: "body.base_url", message: "base_url must start with http:// or https://" }] } },
            422,
          );
        sent.push(body);
        return jsonResponse({ ...teacher, id: 5 }, 201);
      },
    });
    renderWithClient(<TeachersPage projectId={1} />);
    await userEvent.click(await screen.findByTestId("teacher-new"));
    await userEvent.type(screen.getByTestId("teacher-name"), "judge");
    await userEvent.type(screen.getByTestId("teacher-model"), "m");
    await userEvent.type(screen.getByTestId("teacher-base-url"), "ftp://x");
    await userEvent.type(screen.getByTestId("teacher-api-key"), "sk-secret");
    expect(screen.getByTestId("teacher-api-key")).toHaveAttribute("type", "password");
    await userEvent.click(screen.getByTestId("teacher-save"));
    expect(await screen.findByTestId("teacher-error")).toHaveTextContent("base_url: base_url must start with http://");
    await userEvent.clear(screen.getByTestId("teacher-base-url"));
    await userEvent.type(screen.getByTestId("teacher-base-url"), "http://127.0.0.1:9/v1");
    await userEvent.click(screen.getByTestId("teacher-save"));
    await waitFor(() => expect(screen.queryByTestId("teacher-form")).not.toBeInTheDocument());
    expect(sent[0]).toMatchObject({ name: "judge", model: "m", api_key: "sk-secret", base_url: "http://127.0.0.1:9/v1", settings: {} });
  }, 20_000);

  it("edits without resending the key unless asked, clears it on request, deletes after confirming", async () => {
    const { sent, fetchMock } = routes("maintainer");
    renderWithClient(<TeachersPage projectId={1} />);
    const [row] = await screen.findAllByTestId("teacher-row");
    await userEvent.click(within(row).getByRole("button", { name: "Edit" }));
    expect(screen.getByTestId("teacher-api-key")).toHaveValue("");
    await userEvent.click(screen.getByTestId("teacher-save"));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).not.toHaveProperty("api_key");
    await userEvent.click(within(row).getByRole("button", { name: "Edit" }));
    await userEvent.click(screen.getByLabelText("Remove the stored key"));
    await userEvent.click(screen.getByTestId("teacher-save"));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]).toMatchObject({ api_key: "" });

    await userEvent.click(within(row).getByRole("button", { name: "Edit" }));
    await userEvent.clear(screen.getByTestId("teacher-settings"));
    await userEvent.type(screen.getByTestId("teacher-settings"), "[[1]");
    await userEvent.click(screen.getByTestId("teacher-save"));
    expect(await screen.findByTestId("teacher-error")).toHaveTextContent("settings: must be a JSON object");
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));

    vi.spyOn(window, "confirm").mockReturnValue(true);
    await userEvent.click(within(row).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(requestsTo(fetchMock, "/api/projects/1/teachers/3").some((r) => r.method === "DELETE")).toBe(true));
  }, 20_000);

  it("says why a teacher in use by a live run is not deleted", async () => {
    const detail = { error: { code: "teacher_in_use", message: "teacher 3 is used by run(s) 12 that have not finished; cancel them or wait for them to end" } };
    routes("maintainer", { "DELETE /api/projects/1/teachers/3": () => jsonResponse(detail, 409) });
    renderWithClient(<TeachersPage projectId={1} />);
    const [row] = await screen.findAllByTestId("teacher-row");
    vi.spyOn(window, "confirm").mockReturnValue(true);
    await userEvent.click(within(row).getByRole("button", { name: "Delete" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("used by run(s) 12 that have not finished");
    expect(screen.getAllByTestId("teacher-row")).toHaveLength(2);
  });

  it("measures a teacher's speed: starts the probe, follows its job, shows the figures", async () => {
    let probed = false;
    let polls = 0;
    const probe = { tokens_per_s: 41.25, latency_ms: 1551.5, startup_s: null, completion_tokens: 256, requests: 4, succeeded: 4,
      max_tokens: 64, measured_at: "2026-12-01T15:00:00Z", job_id: 77, error: null };
    const job = { id: 77, project_id: 1, kind: "teacher_probe", progress_done: 0, progress_total: 4, result: {}, error: null,
      created_at: "2026-12-01T15:00:00Z", started_at: null, finished_at: null };
    const { fetchMock } = routes("maintainer", {
      "GET /api/projects/1/teachers": () => jsonResponse([probed ? { ...teacher, probe } : teacher]),
      "POST /api/projects/1/teachers/3/probe": () => jsonResponse({ ...job, status: "queued" }, 202),
      "GET /api/projects/1/jobs/77": () => {
        polls += 1;
        if (polls < 2) return jsonResponse({ ...job, status: "running", progress_done: 1 });
        probed = true;
        return jsonResponse({ ...job, status: "succeeded", progress_done: 4 });
      },
    });
    renderWithClient(<TeachersPage projectId={1} />);
    const [row] = await screen.findAllByTestId("teacher-row");
    expect(within(row).getByTestId("teacher-speed")).toHaveTextContent("not measured");
    await userEvent.click(within(row).getByTestId("teacher-probe-start"));
    expect(await within(row).findByTestId("teacher-probe-running")).toHaveTextContent("Measuring");
    expect(within(row).getByTestId("teacher-probe-start")).toBeDisabled();
    await waitFor(() => expect(within(row).getByTestId("teacher-probe")).toHaveTextContent("41.3 tokens/s per request, 1552 ms mean latency"), {
      timeout: 5000,
    });
    expect(within(row).queryByTestId("teacher-probe-running")).not.toBeInTheDocument();
    expect(within(row).getByTestId("teacher-probe-start")).toBeEnabled();
    expect(requestsTo(fetchMock, "/api/projects/1/teachers/3/probe")).toHaveLength(1);
  }, 20_000);

  it("shows why a probe failed", async () => {
    const failed = { tokens_per_s: null, latency_ms: null, startup_s: null, completion_tokens: null, requests: 4, succeeded: 0,
      max_tokens: 64, measured_at: "2026-12-01T15:00:00Z", job_id: 78, error: "http 401: Incorrect API key provided: [REDACTED]." };
    let done = false;
    routes("maintainer", {
      "GET /api/projects/1/teachers": () => jsonResponse([done ? { ...teacher, probe: failed } : teacher]),
      "POST /api/projects/1/teachers/3/probe": () => jsonResponse({ id: 78, status: "queued", kind: "teacher_probe" }, 202),
      "GET /api/projects/1/jobs/78": () => {
        done = true;
        return jsonResponse({ id: 78, status: "failed", kind: "teacher_probe", progress_done: 4, progress_total: 4,
          error: { code: "probe_failed", message: "the probe of teacher 'gpt' got no answer: http 401" } });
      },
    });
    renderWithClient(<TeachersPage projectId={1} />);
    const [row] = await screen.findAllByTestId("teacher-row");
    await userEvent.click(within(row).getByTestId("teacher-probe-start"));
    expect(await within(row).findByTestId("teacher-probe-error")).toHaveTextContent("got no answer: http 401");
    await waitFor(() => expect(within(row).getByTestId("teacher-probe")).toHaveTextContent("probe failed: http 401"));
  }, 20_000);
});
