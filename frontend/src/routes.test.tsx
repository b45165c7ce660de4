import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { getToken, setToken } from "./api/token";
import { parseId, validateEvaluationSearch, validatePromptSetSearch, validateSamplesSearch } from "./routes";
import { THEME_KEY } from "./theme";
import { jsonResponse, mockApi, renderWithClient, user } from "./test/helpers";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "owner" };
const runDetail = {
  id: 5, project_id: 3, name: "nightly", status: "succeeded", recipe: {}, prompt_set_id: null, teacher_id: null,
  summary: {}, warnings: [], error: null, created_at: "2026-01-01T00:00:00", started_at: null, finished_at: null,
  stages: [],
};

function api() {
  return mockApi({
    "GET /api/users/me": () => jsonResponse(user),
    "GET /api/projects/3": () => jsonResponse(project),
    "GET /api/projects/3/runs": () => jsonResponse({ items: [], next_cursor: null }),
    "GET /api/projects/3/runs/5": () => jsonResponse(runDetail),
    "GET /api/projects/3/runs/5/generations": () => jsonResponse({ items: [], next_cursor: null, prev_cursor: null }),
  });
}

function at(path: string) {
  window.history.replaceState(null, "", path);
  return renderWithClient(<App />);
}

describe("routes", () => {
  it("sends a signed-out visitor to /login with the page they asked for as next", async () => {
    api();
    at("/projects/3/runs/5/samples?q=prime");
    await screen.findByTestId("login-form");
    expect(window.location.pathname).toBe("/login");
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/projects/3/runs/5/samples?q=prime");
  });

  it("goes to /login when a 401 forgets the token mid-session", async () => {
    setToken("expired");
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse({ error: { code: "unauthorized", message: "token expired" } }, 401),
      "GET /api/projects/3/runs": () => jsonResponse({ items: [], next_cursor: null }),
    });
    at("/projects/3");
    await screen.findByTestId("login-form");
    expect(getToken()).toBeNull();
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/projects/3");
  });

  it("draws the project and run navigation and each tab opens its page", async () => {
    setToken("t");
    api();
    at("/projects/3/runs/5");
    const projectNav = await screen.findByTestId("project-nav");
    expect(await within(projectNav).findByText("Distill")).toBeInTheDocument();
    const runNav = screen.getByTestId("run-nav");
    expect(await within(runNav).findByText("nightly")).toBeInTheDocument();
    expect(within(runNav).getByTestId("nav-run-overview")).toHaveClass("active");

    const u = userEvent.setup();
    await u.click(within(runNav).getByTestId("nav-run-samples"));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/3/runs/5/samples"));
    expect(await screen.findByTestId("samples")).toBeInTheDocument();
    expect(within(runNav).getByTestId("nav-run-samples")).toHaveClass("active");
    expect(within(runNav).getByTestId("nav-run-overview")).not.toHaveClass("active");

    await u.click(within(projectNav).getByTestId("nav-members"));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/3/members"));
    expect(screen.queryByTestId("run-nav")).not.toBeInTheDocument();
    expect(within(projectNav).getByTestId("nav-members")).toHaveClass("active");
  });

  it("shows administrators a Users link to the users page", async () => {
    setToken("t");
    mockApi({
      "GET /api/users/me": () => jsonResponse({ ...user, is_admin: true, is_active: true }),
      "GET /api/projects": () => jsonResponse([]),
      "GET /api/invitations": () => jsonResponse([]),
      "GET /api/users": () => jsonResponse([{ ...user, is_admin: true, is_active: true }]),
    });
    at("/projects");
    await userEvent.click(await screen.findByTestId("nav-users"));
    await waitFor(() => expect(window.location.pathname).toBe("/users"));
    expect(await screen.findAllByTestId("user-row")).toHaveLength(1);
  });

  it("tells an invitee on any page that invitations wait, and opens them", async () => {
    setToken("t");
    const pending = [
      { id: 9, project_id: 4, project_name: "Maths", role: "reviewer", invited_by: "Bob", created_at: "2026-01-01T00:00:00" },
    ];
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/invitations": () => jsonResponse(pending),
      "GET /api/projects": () => jsonResponse([]),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/runs": () => jsonResponse({ items: [], next_cursor: null }),
    });
    at("/projects/3");
    await userEvent.click(await screen.findByTestId("nav-invitations"));
    expect(screen.getByTestId("nav-invitations")).toHaveTextContent("Invitations (1)");
    await waitFor(() => expect(window.location.pathname).toBe("/projects"));
    expect(await screen.findByTestId("my-invitation")).toHaveTextContent("Maths");
  });

  it("hides the Users link from others", async () => {
    setToken("t");
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects": () => jsonResponse([]),
      "GET /api/invitations": () => jsonResponse([]),
    });
    at("/projects");
    expect(await screen.findByTestId("current-user")).toHaveTextContent("Ada");
    expect(screen.queryByTestId("nav-users")).not.toBeInTheDocument();
  });

  it("opens the reset-password page signed out, with the link's token", async () => {
    const fetchMock = mockApi({ "POST /api/auth/reset-password": () => new Response(null, { status: 204 }) });
    at("/reset-password#dst_abc");
    const u = userEvent.setup();
    await u.click(await screen.findByTestId("reset-password"));
    await u.paste("a-good-password");
    await u.click(screen.getByTestId("reset-again"));
    await u.paste("a-good-password");
    await u.click(screen.getByTestId("reset-submit"));
    expect(await screen.findByTestId("reset-done")).toBeInTheDocument();
    expect(window.location.pathname).toBe("/reset-password");
    const sent = fetchMock.mock.calls.map(([input]) => input as Request).find((r) => r.url.endsWith("/reset-password"));
    expect(await sent?.json()).toEqual({ token: "dst_abc", password: "a-good-password" });
  });

  it("shows not found for ids that are not positive integers and unknown paths", async () => {
    setToken("t");
    api();
    at("/projects/abc/runs/5");
    expect(await screen.findByTestId("not-found")).toBeInTheDocument();
  });

  it("parses ids and search params, dropping malformed values", () => {
    expect(parseId("12")).toBe(12);
    expect(() => parseId("0")).toThrow();
    expect(() => parseId("1e3")).toThrow();
    expect(validateSamplesSearch({ q: "x", score_min: "0.5", score_max: "high", verdict: "" })).toEqual({
      q: "x",
      score_min: 0.5,
    });
    // the API's parameter names; links made with the old names still open the same filter
    const apiNames = { verdict: "rejected", verifier: "math", verifier_result: "fail", score_min: 2, score_max: 8, finish_reason: "length", cursor: "c" };
    expect(validateSamplesSearch(apiNames)).toEqual(apiNames);
    expect(validateSamplesSearch({ verdict: "rejected", verifier: "math:fail", scoreMin: "2", scoreMax: "8", finishReason: "length", cursor: "c" })).toEqual(apiNames);
    expect(validateSamplesSearch({ verifier: "judge" })).toEqual({ verifier: "judge" });
    expect(validatePromptSetSearch({ tab: "stats", junk: 1 })).toEqual({ tab: "stats" });
    expect(validateEvaluationSearch({ evaluationId: "-3", filter: "student_fails_teacher_passes" })).toEqual({
      filter: "student_fails_teacher_passes",
    });
  });

  it("toggles the theme and remembers the choice", async () => {
    setToken("t");
    api();
    at("/projects");
    const toggle = await screen.findByTestId("theme-toggle");
    // jsdom has no matchMedia: the system default is light.
    expect(toggle).toHaveAttribute("data-theme", "light");
    await userEvent.setup().click(toggle);
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(window.localStorage.getItem(THEME_KEY)).toBe("dark");
    expect(screen.getByTestId("theme-toggle")).toHaveAttribute("data-theme", "dark");
  });
});
