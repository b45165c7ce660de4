import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, vi } from "vitest";

// The machine running the tests is shared and slow at times: give findBy/waitFor room (they return as
// soon as the condition holds, so passing tests are not slower).
configure({ asyncUtilTimeout: 5000 });

// jsdom has no layout: the router's scroll restoration calls scrollTo, recharts' ResponsiveContainer
// watches its size.
window.scrollTo = () => {};
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  window.localStorage.clear();
  window.history.replaceState(null, "", "/");
  delete document.documentElement.dataset.theme;
});
