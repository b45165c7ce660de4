import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { getToken, TOKEN_KEY } from "../../api/token";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { safeNext } from "./LoginPage";

async function fillAndSubmit(email: string, password: string) {
  const u = userEvent.setup();
  await u.type(await screen.findByLabelText("Email"), email);
  await u.type(screen.getByLabelText("Password"), password);
  await u.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("login", () => {
  it("redirects to the login form when there is no token", async () => {
    window.history.replaceState(null, "", "/projects/2");
    mockApi({});
    renderWithClient(<App />);
    expect(await screen.findByTestId("login-form")).toBeInTheDocument();
    expect(window.location.pathname).toBe("/login");
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/projects/2");
  });

  it("shows the server's error message when login fails", async () => {
    window.history.replaceState(null, "", "/login");
    const fetchMock = mockApi({
      "POST /api/auth/login": () =>
        jsonResponse({ error: { code: "bad_credentials", message: "email or password is wrong" } }, 401),
    });
    renderWithClient(<App />);

    await fillAndSubmit("ada@example.com", "wrong");

    expect(await screen.findByRole("alert")).toHaveTextContent("email or password is wrong");
    expect(getToken()).toBeNull();
    expect(window.location.pathname).toBe("/login");
    const [req] = requestsTo(fetchMock, "/api/auth/login");
    expect(await req.json()).toEqual({ email: "ada@example.com", password: "wrong" });
  });

  it("stores the token and opens the projects page on success", async () => {
    window.history.replaceState(null, "", "/login");
    const fetchMock = mockApi({
      "POST /api/auth/login": () =>
        jsonResponse({ access_token: "tok-abc", token_type: "bearer", expires_at: null, user }),
      "GET /api/projects": () =>
        jsonResponse([
          { id: 4, name: "Alpha", description: "first", created_at: "2026-01-01T00:00:00", role: "maintainer" },
        ]),
      "GET /api/users/me": () => jsonResponse(user),
    });
    renderWithClient(<App />);

    await fillAndSubmit("ada@example.com", "secret");

    expect(await screen.findByText("Alpha")).toBeInTheDocument();
    expect(window.localStorage.getItem(TOKEN_KEY)).toBe("tok-abc");
    expect(window.location.pathname).toBe("/projects");
    expect(screen.getByTestId("project-role")).toHaveTextContent("maintainer");
    await waitFor(() => expect(requestsTo(fetchMock, "/api/projects").length).toBeGreaterThan(0));
    expect(requestsTo(fetchMock, "/api/projects")[0].headers.get("Authorization")).toBe("Bearer tok-abc");
  });

  it("only follows same-site next= paths", () => {
    expect(safeNext("/projects/3")).toBe("/projects/3");
    expect(safeNext("https://evil.example")).toBe("/projects");
    expect(safeNext("//evil.example")).toBe("/projects");
    expect(safeNext(undefined)).toBe("/projects");
  });
});
