/**
 * Light/dark theme. The default follows the system (prefers-color-scheme); the top bar's toggle stores an
 * explicit choice in localStorage. The effective theme is written to <html data-theme="light|dark">, and
 * styles.css defines the colour variables for each; components use the variables, never literal colours.
 */
import { useSyncExternalStore } from "react";

export type Theme = "light" | "dark";
export const THEME_KEY = "distillery.theme";

const listeners = new Set<() => void>();

function media(): MediaQueryList | null {
  return typeof window !== "undefined" && typeof window.matchMedia === "function"
    ? window.matchMedia("(prefers-color-scheme: dark)")
    : null;
}

export function storedTheme(): Theme | null {
  try {
    const v = window.localStorage.getItem(THEME_KEY);
    return v === "light" || v === "dark" ? v : null;
  } catch {
    return null;
  }
}

export function systemTheme(): Theme {
  return media()?.matches ? "dark" : "light";
}

export function currentTheme(): Theme {
  return storedTheme() ?? systemTheme();
}

export function applyTheme(): void {
  document.documentElement.dataset.theme = currentTheme();
  document.documentElement.style.colorScheme = currentTheme();
}

function notify(): void {
  applyTheme();
  for (const l of listeners) l();
}

/** Store an explicit choice (null: follow the system again). */
export function setTheme(theme: Theme | null): void {
  try {
    if (theme) window.localStorage.setItem(THEME_KEY, theme);
    else window.localStorage.removeItem(THEME_KEY);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  notify();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const mq = media();
  const onSystem = () => notify();
  const onStorage = (e: StorageEvent) => {
    if (e.key === null || e.key === THEME_KEY) notify();
  };
  mq?.addEventListener?.("change", onSystem);
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    mq?.removeEventListener?.("change", onSystem);
    window.removeEventListener("storage", onStorage);
  };
}

/** The effective theme, re-rendering on toggle, on system change and on changes from other tabs. */
export function useTheme(): Theme {
  return useSyncExternalStore(subscribe, currentTheme, () => "light" as Theme);
}

/** A CSS variable's current value (e.g. for canvas/SVG code that needs literal colours). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
