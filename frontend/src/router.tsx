/**
 * A tiny path-based router: history.pushState + popstate, read through
 * useSyncExternalStore. The backend serves index.html for every non-API path.
 */
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

type Listener = () => void;
const listeners = new Set<Listener>();

function notify(): void {
  for (const l of listeners) l();
}

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const current = window.location.pathname + window.location.search;
  if (to === current) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  notify();
}

/** The current path plus query string, e.g. "/login?next=%2Fprojects". */
export function useLocation(): string {
  return useSyncExternalStore(
    subscribe,
    () => window.location.pathname + window.location.search,
    () => "/",
  );
}

export type Route =
  | { name: "login" }
  | { name: "projects" }
  | { name: "project"; projectId: number; runId: number | null }
  | { name: "root" }
  | { name: "notFound" };

function positiveInt(s: string | undefined): number | null {
  if (!s || !/^\d+$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

export function matchRoute(location: string): Route {
  const path = location.split(/[?#]/, 1)[0].replace(/\/+$/, "") || "/";
  if (path === "/") return { name: "root" };
  if (path === "/login") return { name: "login" };
  if (path === "/projects") return { name: "projects" };
  const parts = path.split("/").slice(1);
  if (parts[0] === "projects") {
    const projectId = positiveInt(parts[1]);
    if (projectId !== null) {
      if (parts.length === 2) return { name: "project", projectId, runId: null };
      if (parts.length === 3 && parts[2] === "runs") return { name: "project", projectId, runId: null };
      const runId = positiveInt(parts[3]);
      if (parts.length === 4 && parts[2] === "runs" && runId !== null) {
        return { name: "project", projectId, runId };
      }
    }
  }
  return { name: "notFound" };
}

export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
