import { describe, expect, it } from "vitest";
import { matchRoute, navigate } from "./router";

describe("router", () => {
  it("matches the dashboard's routes", () => {
    expect(matchRoute("/")).toEqual({ name: "root" });
    expect(matchRoute("/login?next=%2Fprojects")).toEqual({ name: "login" });
    expect(matchRoute("/projects/")).toEqual({ name: "projects" });
    expect(matchRoute("/projects/12")).toEqual({ name: "project", projectId: 12, runId: null });
    expect(matchRoute("/projects/12/runs")).toEqual({ name: "project", projectId: 12, runId: null });
    expect(matchRoute("/projects/12/runs/5")).toEqual({ name: "project", projectId: 12, runId: 5 });
    expect(matchRoute("/projects/abc")).toEqual({ name: "notFound" });
    expect(matchRoute("/projects/0")).toEqual({ name: "notFound" });
    expect(matchRoute("/elsewhere")).toEqual({ name: "notFound" });
  });

  it("navigates with the history API", () => {
    navigate("/projects/4");
    expect(window.location.pathname).toBe("/projects/4");
  });
});
