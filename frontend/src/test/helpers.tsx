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

/**
 * A fake XMLHttpRequest for upload tests (jsdom's own would go to the network): each send() is recorded
 * and answered by `respond`, after emitting the upload progress events listed in `steps` (bytes sent).
 */
export function fakeXhr(respond: (xhr: FakeXhrRequest) => { status: number; body: unknown }, steps: number[] = []) {
  const sent: FakeXhrRequest[] = [];
  class FakeXMLHttpRequest {
    method = "";
    url = "";
    headers: Record<string, string> = {};
    body: FormData | null = null;
    status = 0;
    statusText = "";
    responseText = "";
    responseType = "";
    private listeners: Record<string, ((e: unknown) => void)[]> = {};
    private uploadListeners: Record<string, ((e: unknown) => void)[]> = {};
    upload = {
      addEventListener: (type: string, fn: (e: unknown) => void) => {
        (this.uploadListeners[type] ??= []).push(fn);
      },
    };
    open(method: string, url: string) {
      this.method = method;
      this.url = url;
    }
    setRequestHeader(k: string, v: string) {
      this.headers[k] = v;
    }
    addEventListener(type: string, fn: (e: unknown) => void) {
      (this.listeners[type] ??= []).push(fn);
    }
    abort() {
      for (const fn of this.listeners.abort ?? []) fn({});
    }
    send(body: FormData) {
      this.body = body;
      const req = this as unknown as FakeXhrRequest;
      sent.push(req);
      const file = body.get("file");
      const total = file instanceof Blob ? file.size : 0;
      void (async () => {
        for (const loaded of steps) {
          await new Promise((r) => setTimeout(r, 20));
          for (const fn of this.uploadListeners.progress ?? []) fn({ loaded, total, lengthComputable: true });
        }
        await new Promise((r) => setTimeout(r, 20));
        const { status, body: out } = respond(req);
        this.status = status;
        this.responseText = JSON.stringify(out);
        for (const fn of this.listeners.load ?? []) fn({});
      })();
    }
  }
  vi.stubGlobal("XMLHttpRequest", FakeXMLHttpRequest);
  return sent;
}

export interface FakeXhrRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: FormData | null;
}
