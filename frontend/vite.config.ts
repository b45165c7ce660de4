/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The FastAPI backend serves dist/index.html for every non-API path, so the
// dashboard uses absolute asset URLs (base "/") and path-based routes.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    rollupOptions: {
      output: {
        // highlight.js (code blocks in Markdown) in a chunk of its own, loaded beside the Markdown chunk:
        // together they would pass Vite's 500 kB chunk warning
        manualChunks: (id: string) => (/node_modules\/(highlight\.js|lowlight)\//.test(id) ? "highlight" : undefined),
      },
    },
  },
  server: {
    proxy: { "/api": process.env.API_URL ?? "http://127.0.0.1:8000" },
  },
  preview: {
    proxy: { "/api": process.env.API_URL ?? "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
