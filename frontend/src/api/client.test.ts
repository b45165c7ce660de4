import { describe, expect, it } from "vitest";
import { api, ApiError, unwrap } from "./client";
import { getToken, setToken, TOKEN_KEY } from "./token";
import { jsonResponse, mockApi, requestsTo } from "../test/helpers";

describe("api client", () => {
  it("attaches the bearer token from localStorage", async () => {
    window.localStorage.setItem(TOKEN_KEY, "tok-123");
    const fetchMock = mockApi({ "GET /api/projects": () => jsonResponse([]) });

    const projects = await unwrap(api.GET("/api/projects"));

    expect(projects).toEqual([]);
    const [req] = requestsTo(fetchMock, "/api/projects");
    expect(req.headers.get("Authorization")).toBe("Bearer tok-123");
  });

  it("sends no Authorization header without a token", async () => {
    const fetchMock = mockApi({ "GET /api/health": () => jsonResponse({ status: "ok" }) });
    await unwrap(api.GET("/api/health"));
    expect(requestsTo(fetchMock, "/api/health")[0].headers.has("Authorization")).toBe(false);
  });

  it("sends path and query parameters", async () => {
    setToken("t");
    const fetchMock = mockApi({
      "GET /api/projects/7/runs": () => jsonResponse({ items: [], next_cursor: null }),
    });
    await unwrap(api.GET("/api/projects/{project_id}/runs", { params: { path: { project_id: 7 }, query: { limit: 5 } } }));
    const url = new URL(requestsTo(fetchMock, "/api/projects/7/runs")[0].url);
    expect(url.searchParams.get("limit")).toBe("5");
  });

  it("on 401 for an authenticated request, clears the token (the route guard then goes to login)", async () => {
    setToken("expired");
    window.history.replaceState(null, "", "/projects/3");
    mockApi({
      "GET /api/projects/3": () => jsonResponse({ error: { code: "unauthorized", message: "token expired" } }, 401),
    });

    const err = await unwrap(api.GET("/api/projects/{project_id}", { params: { path: { project_id: 3 } } })).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).message).toBe("token expired");
    expect(getToken()).toBeNull();
  });

  it("leaves a 401 from the login call to the caller", async () => {
    window.history.replaceState(null, "", "/login");
    mockApi({
      "POST /api/auth/login": () =>
        jsonResponse({ error: { code: "bad_credentials", message: "email or password is wrong" } }, 401),
    });
    const err = await unwrap(api.POST("/api/auth/login", { body: { email: "a@b.c", password: "x" } })).catch(
      (e: unknown) => e,
    );
    expect((err as ApiError).code).toBe("bad_credentials");
    expect(window.location.pathname).toBe("/login");
    expect(window.location.search).toBe("");
  });

  it("turns the error envelope into an ApiError with field details", async () => {
    setToken("t");
    mockApi({
      "POST /api/projects": () =>
        jsonResponse(
          {
            error: {
              code: "validation_error",
              message: "request is invalid",
              fields: [{ path: "body.name", message: "String should have at least 1 character", type: "string_too_short" }],
            },
          },
          422,
        ),
    });
    const err = (await unwrap(api.POST("/api/projects", { body: { name: "", description: "" } })).catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation_error");
    expect(err.fields).toHaveLength(1);
  });
});
