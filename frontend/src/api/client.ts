import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { ApiError, toApiError } from "./errors";
import { clearToken, getToken } from "./token";

export type Schemas = components["schemas"];
export type Project = Schemas["ProjectOut"];
/** A run as the runs list has it (GET .../runs/{id} is the whole run: RunDetail). */
export type RunListItem = Schemas["RunListItem"];
export type RunDetail = Schemas["RunDetail"];
/** A stage as its kind's typed view (discriminated by `kind`): metrics follow the stage registry's
 * summary model for that kind. */
export type Stage = RunDetail["stages"][number];
export type RunSummary = Schemas["RunSummary"];
export type ProfileSummary = Schemas["ProfileSummary"];
export type LengthSummary = Schemas["LengthSummary"];
export type RolloutSummary = Schemas["RolloutSummary"];
export type RunStatus = Schemas["Status"];
export type Role = Schemas["Role"];
export type User = Schemas["UserOut"];

/**
 * Attaches `Authorization: Bearer <token>` and, when an authenticated request
 * comes back 401 (expired or revoked token), forgets the token; the route guard
 * (routes.tsx) then sends the user to /login?next=<where they were>. A 401 from
 * the login form itself is left for the form to show.
 */
export const authMiddleware: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has("Authorization")) {
      clearToken();
    }
    return response;
  },
};

export function makeClient(baseUrl: string = window.location.origin) {
  const client = createClient<paths>({
    baseUrl,
    // Look fetch up at call time (not client creation) so tests can stub it.
    fetch: (request: Request) => globalThis.fetch(request),
  });
  client.use(authMiddleware);
  return client;
}

export const api = makeClient();

/**
 * Resolve an openapi-fetch call to its data, or throw an ApiError carrying the
 * server's error.message.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    throw toApiError(error, response);
  }
  return data as T;
}

export { ApiError };
