import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createMemoryHistory, createRootRoute, createRouter, RouterProvider } from "@tanstack/react-router";
import { vi } from "vitest";

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

type Handler = (request: Request) => Response | Promise<Response>;

/**
 * Stub global fetch with a tiny router: keys are "METHOD /path" (no query).
 * Returns the mock so tests can inspect the Requests it received.
 */
export function mockApi(routes: Record<string, Handler>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const handler = routes[`${request.method} ${url.pathname}`];
    if (!handler) {
      return jsonResponse({ error: { code: "not_found", message: `no mock for ${request.method} ${url.pathname}` } }, 404);
    }
    return handler(request);
  });
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

export function requestsTo(fetchMock: ReturnType<typeof mockApi>, pathname: string): Request[] {
  return fetchMock.mock.calls
    .map(([input]) => input as Request)
    .filter((r) => new URL(r.url).pathname === pathname);
}

export function renderWithClient(ui: ReactElement) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return { client, ...render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>) };
}

/**
 * Render a component that uses router hooks (Link, useNavigate) inside a one-route memory router: any
 * navigation keeps rendering `ui` and shows up in `router.state.location`.
 */
export function renderWithRouter(ui: ReactElement, { path = "/" }: { path?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const rootRoute = createRootRoute({ component: () => ui, notFoundComponent: () => null });
  const router = createRouter({ routeTree: rootRoute, history: createMemoryHistory({ initialEntries: [path] }) });
  const rendered = render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { client, router, ...rendered };
}

export const user = {
  id: 1,
  email: "ada@example.com",
  name: "Ada",
  is_admin: false,
  created_at: "2026-01-01T00:00:00",
};
