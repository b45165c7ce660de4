#!/usr/bin/env node
/**
 * End-to-end check of the dashboard against a running backend.
 *
 *   BASE_URL=http://127.0.0.1:8765 E2E_EMAIL=... E2E_PASSWORD=... \
 *   E2E_PROJECT="Demo project" E2E_RUN="e2e-run" [E2E_SCREENSHOT=/tmp/shot.png] \
 *   [E2E_TIMEOUT_MS=120000] [CHROMIUM_PATH=/usr/bin/chromium] node e2e/dashboard.mjs
 *
 * Logs in through the form, opens the project, and waits until the run named
 * E2E_RUN shows status "succeeded" (picked up by the page's live refresh; the
 * page is never reloaded). With E2E_LAUNCH_TEACHER set (a teacher's name), it
 * then launches a rollout from the "New rollout" form (n=1, E2E_MAX_TOKENS
 * tokens), checks the estimate, and waits for the new run to succeed and its
 * Samples tab to list its generations. Exits 0 on success, 1 (after printing what the page showed)
 * on any failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === "") {
    console.error(`e2e: missing required environment variable ${name}`);
    process.exit(1);
  }
  return v;
}

const BASE_URL = env("BASE_URL");
const EMAIL = env("E2E_EMAIL");
const PASSWORD = env("E2E_PASSWORD");
const PROJECT = env("E2E_PROJECT");
const RUN = env("E2E_RUN");
const SCREENSHOT = process.env.E2E_SCREENSHOT || "";
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 120_000);
const EXECUTABLE = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const LAUNCH_TEACHER = process.env.E2E_LAUNCH_TEACHER || "";
const MAX_TOKENS = process.env.E2E_MAX_TOKENS || "8";

async function launchRollout(page) {
  // The quick rollout form lives on the project's runs list.
  await page.getByTestId("nav-runs").click();
  const form = page.getByTestId("launch-rollout");
  await form.waitFor();
  const setSelect = form.getByTestId("launch-prompt-set");
  await setSelect.locator("option:not([value=''])").first().waitFor({ state: "attached" });
  const setValue = await setSelect.locator("option:not([value=''])").first().getAttribute("value");
  await setSelect.selectOption(setValue);
  const teacherSelect = form.getByTestId("launch-teacher");
  const option = teacherSelect.locator("option").filter({ hasText: LAUNCH_TEACHER }).first();
  await option.waitFor({ state: "attached" });
  await teacherSelect.selectOption(await option.getAttribute("value"));
  await form.getByTestId("launch-n").fill("1");
  await form.getByTestId("launch-max-tokens").fill(MAX_TOKENS);
  await form.getByTestId("launch-estimate").click();
  const estimate = form.getByTestId("launch-estimate-result");
  await estimate.waitFor();
  log(`estimate: ${(await estimate.innerText()).split("\n")[0]}`);
  // The watched run's panel may be open already: wait for the URL of a different run.
  const before = page.url();
  await form.getByTestId("launch-submit").click();
  await page.waitForURL((u) => /\/runs\/\d+$/.test(u.pathname) && u.href !== before);
  const runId = page.url().match(/\/runs\/(\d+)$/)[1];
  const detail = page.locator(`[data-testid="run-detail"][data-run-id="${runId}"]`);
  await detail.waitFor();
  log(`launched a rollout: ${page.url()}`);
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const status = await detail.getAttribute("data-run-status");
    if (status === "succeeded") break;
    if (status === "failed" || status === "cancelled") throw new Error(`the launched rollout ended ${status}`);
    if (Date.now() > deadline) throw new Error(`the launched rollout is still ${status} after ${TIMEOUT_MS} ms`);
    await page.waitForTimeout(500);
  }
  // Its generations are on the run's Samples tab (a client-side navigation, no reload).
  await page.getByTestId("nav-run-samples").click();
  const samples = page.getByTestId("samples");
  await samples.locator('[data-testid="sample-row"]').first().waitFor();
  const shown = await samples.locator('[data-testid="sample-row"]').count();
  log(`the launched rollout succeeded; ${shown} generations shown`);
}

const log = (...a) => console.log(`[e2e ${new Date().toISOString()}]`, ...a);

async function describePage(page) {
  try {
    const url = page.url();
    const text = await page.locator("body").innerText({ timeout: 2000 });
    return `url: ${url}\n--- page text ---\n${text.trim().slice(0, 4000)}\n-----------------`;
  } catch (err) {
    return `(could not read the page: ${err.message})`;
  }
}

async function main() {
  const userDataDir = mkdtempSync(join(tmpdir(), "distillery-e2e-"));
  const consoleLines = [];
  let context;
  let page;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: EXECUTABLE,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("console", (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    page.on("requestfailed", (r) => consoleLines.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));

    log(`open ${BASE_URL}`);
    await page.goto(BASE_URL, { waitUntil: "domcontentloaded" });

    // Any unauthenticated page redirects to the login form.
    await page.getByTestId("login-form").waitFor();
    await page.getByTestId("login-email").fill(EMAIL);
    await page.getByTestId("login-password").fill(PASSWORD);
    await page.getByTestId("login-submit").click();
    log("submitted the login form");

    const loginError = page.getByTestId("login-error");
    const projectsTable = page.getByTestId("projects-table");
    await Promise.race([
      projectsTable.waitFor(),
      loginError.waitFor().then(async () => {
        throw new Error(`login failed: ${await loginError.innerText()}`);
      }),
    ]);
    log("logged in; projects listed");

    const projectLink = page.getByTestId("project-link").filter({ hasText: PROJECT });
    const exact = projectLink.getByText(PROJECT, { exact: true });
    const link = (await exact.count()) > 0 ? exact.first() : projectLink.first();
    if ((await projectLink.count()) === 0) throw new Error(`no project named ${JSON.stringify(PROJECT)} is listed`);
    await link.click();
    await page.getByTestId("project-name").getByText(PROJECT, { exact: true }).waitFor();
    log(`opened project ${JSON.stringify(PROJECT)} at ${page.url()}`);

    const row = page
      .getByTestId("run-row")
      .filter({ has: page.getByTestId("run-name").getByText(RUN, { exact: true }) });
    const deadline = Date.now() + TIMEOUT_MS;
    let lastStatus = null;
    for (;;) {
      const n = await row.count();
      const status = n > 0 ? await row.first().getByTestId("status-badge").innerText() : "(not listed)";
      if (status !== lastStatus) {
        log(`run ${JSON.stringify(RUN)}: ${status}`);
        lastStatus = status;
      }
      if (status.trim() === "succeeded") break;
      if (["failed", "cancelled"].includes(status.trim())) {
        throw new Error(`run ${JSON.stringify(RUN)} finished with status ${status}, not succeeded`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${TIMEOUT_MS} ms waiting for run ${JSON.stringify(RUN)} to succeed; last status: ${status}`);
      }
      await page.waitForTimeout(500);
    }

    // Assert through the DOM attributes too, and open the run's stage panel.
    const badge = row.first().getByTestId("status-badge");
    const attr = await badge.getAttribute("data-status");
    if (attr !== "succeeded") throw new Error(`status badge data-status is ${attr}, expected succeeded`);
    await row.first().getByTestId("run-name").click();
    const detail = page.getByTestId("run-detail");
    await detail.waitFor();
    const stageCount = await detail.getByTestId("stage").count();
    log(`run detail shown with ${stageCount} stage(s)`);

    if (LAUNCH_TEACHER) await launchRollout(page);

    if (SCREENSHOT) {
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      log(`screenshot saved to ${SCREENSHOT}`);
    }
    log(`PASS: run ${JSON.stringify(RUN)} in project ${JSON.stringify(PROJECT)} is succeeded`);
    return 0;
  } catch (err) {
    console.error(`e2e FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (page) console.error(await describePage(page));
    if (consoleLines.length) console.error(`browser log:\n  ${consoleLines.slice(-30).join("\n  ")}`);
    if (page && SCREENSHOT) {
      await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => {});
    }
    return 1;
  } finally {
    await context?.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`e2e crashed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
