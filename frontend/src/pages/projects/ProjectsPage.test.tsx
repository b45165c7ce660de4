import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";

describe("projects page", () => {
  it("creates a project and opens it", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects");
    const created = { id: 9, name: "New one", description: "d", created_at: "2026-01-01T00:00:00", role: "owner" };
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects": () => jsonResponse([]),
      "POST /api/projects": () => jsonResponse(created, 201),
      "GET /api/projects/9": () => jsonResponse(created),
      "GET /api/projects/9/runs": () => jsonResponse({ items: [], next_cursor: null }),
    });
    renderWithClient(<App />);
    expect(await screen.findByTestId("projects-empty")).toBeInTheDocument();

    const u = userEvent.setup();
    await u.type(screen.getByTestId("new-project-name"), "New one");
    await u.type(screen.getByTestId("new-project-description"), "d");
    await u.click(screen.getByTestId("new-project-submit"));

    expect(await screen.findByTestId("runs-empty")).toBeInTheDocument();
    expect(window.location.pathname).toBe("/projects/9");
    expect(await requestsTo(fetchMock, "/api/projects").find((r) => r.method === "POST")!.json()).toEqual({
      name: "New one",
      description: "d",
    });
  });

  it("shows the server's error when creating fails", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects");
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects": () => jsonResponse([]),
      "POST /api/projects": () => jsonResponse({ error: { code: "forbidden", message: "only admins may create projects" } }, 403),
    });
    renderWithClient(<App />);
    const u = userEvent.setup();
    await u.type(await screen.findByTestId("new-project-name"), "X");
    await u.click(screen.getByTestId("new-project-submit"));
    expect(await screen.findByTestId("new-project-error")).toHaveTextContent("only admins may create projects");
  });
});

describe("projects page invitations", () => {
  it("lists the invitations to accept, and the project after accepting", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects");
    const project = { id: 4, name: "Joined", slug: "joined-4", description: "", created_at: "2026-01-01T00:00:00", role: "viewer" };
    let accepted = false;
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects": () => jsonResponse(accepted ? [project] : []),
      "GET /api/invitations": () =>
        jsonResponse(
          accepted
            ? []
            : [{ id: 5, project_id: 4, project_name: "Joined", role: "viewer", invited_by: "Ada", created_at: "2026-01-01T00:00:00" }],
        ),
      "POST /api/invitations/5/accept": () => {
        accepted = true;
        return jsonResponse(project);
      },
    });
    renderWithClient(<App />);
    const row = await screen.findByTestId("my-invitation");
    expect(row).toHaveTextContent("Joined");
    await userEvent.setup().click(screen.getByRole("button", { name: "Accept" }));
    expect(await screen.findByTestId("project-row")).toHaveTextContent("Joined");
    expect(screen.queryByTestId("my-invitations")).not.toBeInTheDocument();
  });
});
