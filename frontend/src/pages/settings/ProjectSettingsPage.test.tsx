import { describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithRouter } from "../../test/helpers";
import { ProjectSettingsPage } from "./ProjectSettingsPage";

function routes(role: string) {
  const sent: unknown[] = [];
  let hub = { endpoint: "https://huggingface.co", has_token: false, updated_at: null as string | null };
  mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", slug: "p-1", description: "", created_at: "2026-01-01", role }),
    "GET /api/projects/1/hub": () => jsonResponse(hub),
    "PATCH /api/projects/1/hub": async (r) => {
      const body = await r.json();
      sent.push(body);
      hub = { ...hub, endpoint: body.endpoint ?? hub.endpoint, has_token: hub.has_token || Boolean(body.token), updated_at: "2026-12-08T00:00:00" };
      return jsonResponse(hub);
    },
    "DELETE /api/projects/1/hub/token": () => {
      hub = { ...hub, has_token: false };
      return jsonResponse(hub);
    },
    "GET /api/projects/1/hub/pushes": () =>
      jsonResponse([
        { id: 1, kind: "model", object_id: 4, repo_id: "team/student", private: false, endpoint: "https://huggingface.co", job_id: 9, status: "succeeded", error: null, url: "https://huggingface.co/team/student", commit: "abc", created_at: "2026-12-08T00:00:00", pushed_at: "2026-12-08T00:00:00" },
      ]),
  });
  return sent;
}

describe("ProjectSettingsPage", () => {
  it("sets a write-only Hub token, never shows it, and removes it", async () => {
    const sent = routes("maintainer");
    renderWithRouter(<ProjectSettingsPage projectId={1} />);
    expect(await screen.findByTestId("hub-token-state")).toHaveTextContent("No token yet");
    const field = screen.getByTestId("hub-token");
    expect(field).toHaveAttribute("type", "password");
    await waitFor(() => expect(field).toBeEnabled()); // once the caller's role is known
    await userEvent.type(field, "hf_secret");
    await userEvent.click(screen.getByTestId("hub-save"));
    await waitFor(() => expect(screen.getByTestId("hub-token-state")).toHaveTextContent("A token is set."));
    expect(sent).toEqual([{ token: "hf_secret" }]);
    expect(screen.getByTestId("hub-token")).toHaveValue(""); // never shown again
    expect(document.body.textContent).not.toContain("hf_secret");
    await userEvent.click(screen.getByTestId("hub-clear-token"));
    await waitFor(() => expect(screen.getByTestId("hub-token-state")).toHaveTextContent("No token yet"));
    expect(screen.getByTestId("hub-pushed-url")).toHaveAttribute("href", "https://huggingface.co/team/student");
  });

  it("is read-only for viewers", async () => {
    routes("viewer");
    renderWithRouter(<ProjectSettingsPage projectId={1} />);
    await waitFor(() => expect(screen.getByTestId("hub-token")).toBeDisabled());
    expect(screen.queryByTestId("hub-save")).not.toBeInTheDocument();
    expect(await screen.findByText(/you are a viewer here/)).toBeInTheDocument();
  });
});
