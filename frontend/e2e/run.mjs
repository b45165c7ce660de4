/**
 * dash-run's end-to-end steps, for the whole-dashboard harness to import (playwright-core `page`s):
 *
 *   import { openRun, watchRunLive, openSamples, openTraceWithLatex } from "./run.mjs";
 *   await openRun(page, { baseUrl, projectId, runId });
 *   const status = await watchRunLive(page, { timeoutMs: 120_000 });   // never reloads the page
 *   await watchTrainingLive(page, { timeoutMs: 240_000 });   // a loss curve drawn while train still runs
 *   await openSamples(page, { baseUrl, projectId, runId, filters: { verdict: "accepted" } });
 *   await openTraceWithLatex(page, { baseUrl, projectId, runId, generationId });
 *
 * Each throws an Error saying what it waited for and what the page showed; each returns what it read.
 */

/** Open a run's page and wait for its detail. Returns the run's status. */
export async function openRun(page, { baseUrl, projectId, runId }) {
  await page.goto(`${baseUrl}/projects/${projectId}/runs/${runId}`);
  const detail = page.locator(`[data-testid="run-detail"][data-run-id="${runId}"]`);
  await detail.waitFor({ timeout: 30_000 });
  const error = page.getByTestId("run-error");
  if (await error.count()) throw new Error(`run page error: ${await error.innerText()}`);
  return detail.getAttribute("data-run-status");
}

/**
 * Watch the open run page until the run finishes, without reloading: the page polls. Fails when the run
 * ends other than `expect` (default "succeeded"), or when no stage's progress or status ever moves
 * while it is unfinished (the page would not be live). Returns the statuses seen, in order.
 */
export async function watchRunLive(page, { timeoutMs = 120_000, expect = "succeeded" } = {}) {
  const detail = page.getByTestId("run-detail");
  const navigations = [];
  const onNav = (frame) => frame === page.mainFrame() && navigations.push(frame.url());
  page.on("framenavigated", onNav);
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const status = await detail.getAttribute("data-run-status");
      const stages = await detail.locator('[data-testid="stage"]').evaluateAll((els) =>
        els.map((e) => `${e.getAttribute("data-stage-kind")}:${e.getAttribute("data-stage-status")}:${e.querySelector('[data-testid="progress-text"]')?.textContent ?? ""}`).join(" "),
      );
      const snapshot = `${status} | ${stages}`;
      if (seen[seen.length - 1] !== snapshot) seen.push(snapshot);
      if (["succeeded", "failed", "cancelled"].includes(status)) {
        if (status !== expect) throw new Error(`run ended ${status}, expected ${expect}; seen: ${seen.join(" → ")}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`run still ${status} after ${timeoutMs} ms; seen: ${seen.join(" → ")}`);
      await page.waitForTimeout(500);
    }
  } finally {
    page.off("framenavigated", onNav);
  }
  if (navigations.length > 0) throw new Error(`the page navigated while watching: ${navigations.join(", ")}`);
  return seen;
}

/**
 * Watch the open run page until its train stage draws a loss curve while it still runs, without
 * reloading: the chart (data-testid loss-chart) has points and data-live="true" while the timeline says
 * train is running. Fails when the train stage ends first (the curve appeared only afterwards) or the
 * deadline passes. Returns the points seen and what the page showed on the way.
 */
export async function watchTrainingLive(page, { timeoutMs = 240_000 } = {}) {
  const train = page.locator('[data-testid="stage"][data-stage-kind="train"]');
  const chart = page.getByTestId("loss-chart");
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await train.count()) ? await train.getAttribute("data-stage-status") : "absent";
    const points = (await chart.count()) ? Number(await chart.getAttribute("data-points")) : 0;
    const live = (await chart.count()) ? await chart.getAttribute("data-live") : null;
    const snapshot = `train:${status} points:${points} live:${live}`;
    if (seen[seen.length - 1] !== snapshot) seen.push(snapshot);
    if (status === "running" && live === "true" && points > 0) {
      // read again: the stage must still run once the points are drawn
      if ((await train.getAttribute("data-stage-status")) === "running") return { points, seen };
    }
    if (["succeeded", "failed", "cancelled"].includes(status)) {
      throw new Error(`the train stage ended ${status} before a live curve was drawn; seen: ${seen.join(" → ")}`);
    }
    if (Date.now() > deadline) throw new Error(`no live training curve after ${timeoutMs} ms; seen: ${seen.join(" → ")}`);
    await page.waitForTimeout(200);
  }
}

/** Open the sample browser with filters (the URL's search params) and return the rows' generation ids. */
export async function openSamples(page, { baseUrl, projectId, runId, filters = {} }) {
  const qs = new URLSearchParams(Object.entries(filters).map(([k, v]) => [k, String(v)])).toString();
  await page.goto(`${baseUrl}/projects/${projectId}/runs/${runId}/samples${qs ? `?${qs}` : ""}`);
  const root = page.getByTestId("samples");
  await root.waitFor({ timeout: 30_000 });
  await Promise.race([
    root.getByTestId("samples-table").waitFor({ timeout: 30_000 }),
    root.getByTestId("samples-empty").waitFor({ timeout: 30_000 }),
  ]);
  const error = root.getByTestId("samples-error");
  if (await error.count()) throw new Error(`sample browser error: ${await error.innerText()}`);
  return root.locator('[data-testid="sample-row"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-generation-id"))));
}

/**
 * Open one trace, expand its reasoning, and check LaTeX rendered with KaTeX (a .katex element in the
 * answer, the prompt or the reasoning) and that the final answer is pinned on top. Returns counts.
 */
export async function openTraceWithLatex(page, { baseUrl, projectId, runId, generationId }) {
  await page.goto(`${baseUrl}/projects/${projectId}/runs/${runId}/samples/${generationId}`);
  const trace = page.locator(`[data-testid="trace"][data-generation-id="${generationId}"]`);
  await trace.waitFor({ timeout: 30_000 });
  await trace.getByTestId("trace-answer").waitFor();
  const toggle = trace.getByTestId("reasoning-toggle");
  if (await toggle.count()) {
    await toggle.click();
    await trace.getByTestId("reasoning-chunk").first().waitFor();
  }
  const katex = await trace.locator(".katex").count();
  if (katex === 0) {
    const text = (await trace.innerText()).slice(0, 600);
    throw new Error(`no KaTeX-rendered formula in trace ${generationId}; the page showed: ${text}`);
  }
  const errors = await trace.locator(".katex-error").count();
  const pinned = await trace.getByTestId("trace-pinned").evaluate((el) => getComputedStyle(el).position);
  if (pinned !== "sticky") throw new Error(`the final answer is not pinned (position: ${pinned})`);
  return { katex, katexErrors: errors, chunks: await trace.getByTestId("reasoning-chunk").count() };
}
