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
});
