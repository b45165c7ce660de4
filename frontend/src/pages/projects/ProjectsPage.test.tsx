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
