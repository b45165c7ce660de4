#!/usr/bin/env node
/**
 * The whole dashboard in headless Chromium, against a platform tests/e2e/test_dashboard.py starts and seeds:
 *
 *   E2E_CONFIG=/path/config.json [CHROMIUM_PATH=/usr/bin/chromium] node e2e/whole.mjs
 *
 * config.json (written by the test): baseUrl, email, password, projectId, projectName, artifacts (a folder),
 * judgeRunId (a run whose review stage waits, with judge-rejected attempts), latexGenerationId (an attempt
 * of that run whose prompt has LaTeX), evalRunId (a run that trains and evaluates; watched live),
 * badPromptFile (a prompt file with one bad row), demo (what the wizard's demo preset needs), teacherSecret.
 *
 * Steps: log in; see the evaluated run's training curve drawn while its train stage runs (run.mjs
 * watchTrainingLive); upload a prompt set and see its bad row (shell.mjs uploadPromptSet); launch the demo
 * recipe from the wizard (shell.mjs launchFromWizard, without its long training) and watch that run
 * finish without reloading (run.mjs watchRunLive; the evaluated run when the wizard step is missing);
 * open a trace with LaTeX
 * (run.mjs); review a judge-rejected attempt with the keyboard only, read the evaluation table (review.mjs);
 * launch a train-only run of the evaluated run's snapshot and an evaluate-only run of its model from the
 * wizard and watch each succeed (shell.mjs); the judge, teachers and members pages (review.mjs); then a screenshot of every page, light and dark, under
 * `artifacts`. Steps of a module that is not there yet are reported as skipped. Any console error or
 * uncaught page error fails the run. Prints one line `E2E-RESULT {json}` with every step's outcome.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import * as review from "./review.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
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
const cfg = JSON.parse(readFileSync(process.env.E2E_CONFIG, "utf8"));
const BASE = cfg.baseUrl;
const log = (...a) => console.log(`[e2e ${new Date().toISOString()}]`, ...a);

/** Another helper's step module, or null while it has not landed. */
async function optional(name) {
  const path = join(HERE, name);
  if (!existsSync(path)) return null;
  return import(path);
}

async function login(page) {
  await page.goto(`${BASE}/projects`);
  await page.getByTestId("login-form").waitFor({ timeout: 30_000 }); // the guard sends us to /login
  await page.getByTestId("login-email").fill(cfg.email);
  await page.getByTestId("login-password").fill(cfg.password);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("projects-table").waitFor({ timeout: 30_000 });
  return { url: page.url() };
}

/** Every page of the dashboard, as [name, path] (ids from the config and from what earlier steps made). */
function pages(state) {
  const p = `/projects/${cfg.projectId}`;
  const j = `${p}/runs/${cfg.judgeRunId}`;
  const e = `${p}/runs/${state.evalRunId ?? cfg.evalRunId}`;
  return [
    ["projects", "/projects"],
    ["project-runs", p],
    ["wizard", `${p}/runs/new`],
    ["prompt-sets", `${p}/prompt-sets`],
    ["prompt-set", `${p}/prompt-sets/${state.promptSetId ?? cfg.promptSetId}`],
    ["judge", `${p}/judge`],
    ["teachers", `${p}/teachers`],
    ["members", `${p}/members`],
    ["project-settings", `${p}/settings`],
    ["users", "/users"],
    ["run", e],
    ["samples", `${j}/samples`],
    ["trace", `${j}/samples/${cfg.latexGenerationId}`],
    ["review", `${j}/review`],
    ["evaluation", `${e}/evaluation`],
  ];
}

async function screenshots(page, state) {
  mkdirSync(cfg.artifacts, { recursive: true });
  const files = [];
  for (const [name, path] of pages(state)) {
    await page.goto(`${BASE}${path}`);
    await page.waitForLoadState("networkidle", { timeout: 15_000 }).catch(() => {});
    // a path the dashboard does not know renders its Not found page without a console error: a stale
    // build or a renamed route would otherwise pass here as a screenshot of that page
    if (await page.getByTestId("not-found").count()) throw new Error(`${name}: ${path} is not a page`);
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForFunction((s) => document.documentElement.dataset.theme === s, scheme, { timeout: 5000 });
      await page.waitForTimeout(250); // charts and transitions settle
      const file = join(cfg.artifacts, `${name}-${scheme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      files.push(file);
    }
    await page.emulateMedia({ colorScheme: "light" });
  }
  // the login page last: signed out
  await page.evaluate(() => window.localStorage.clear());
  await page.goto(`${BASE}/login`);
  await page.getByTestId("login-form").waitFor();
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    const file = join(cfg.artifacts, `login-${scheme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  return { files: files.length };
}

async function main() {
  const userDataDir = mkdtempSync(join(tmpdir(), "distillery-e2e-"));
  const problems = [];
  const results = {};
  const state = {};
  let context;
  let page;
  const step = async (name, fn) => {
    if (!fn) {
      results[name] = { status: "skipped", why: "its step module is not there yet" };
      log(`SKIP ${name}`);
      return;
    }
    const t0 = Date.now();
    try {
      const out = await fn();
      results[name] = { status: "passed", ms: Date.now() - t0, out };
      log(`PASS ${name} (${Date.now() - t0} ms): ${JSON.stringify(out).slice(0, 400)}`);
    } catch (err) {
      results[name] = { status: "failed", ms: Date.now() - t0, error: String(err?.message ?? err) };
      log(`FAIL ${name}: ${err?.message ?? err}`);
      if (page) {
        mkdirSync(cfg.artifacts, { recursive: true });
        await page.screenshot({ path: join(cfg.artifacts, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
        const text = await page.locator("body").innerText({ timeout: 2000 }).catch(() => "");
        log(`page at ${page.url()}:\n${text.slice(0, 2000)}`);
        // in the result too: CI prints the result line whole but only the tail of the log
        results[name].page = { url: page.url(), text: text.slice(0, 600) };
      }
    }
  };
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      colorScheme: "light",
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console.error at ${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror at ${page.url()}: ${e.message}`));

    const shell = await optional("shell.mjs");
    const run = await optional("run.mjs");
    const ctx = { baseUrl: BASE, projectId: cfg.projectId, ...cfg };

    await step("login", () => login(page));
    await step(
      "see a training curve before the train stage ends",
      run?.watchTrainingLive &&
        (async () => {
          // first, so the evaluated run (queued before the browser started) is watched before it trains
          await run.openRun(page, { ...ctx, runId: cfg.evalRunId });
          return run.watchTrainingLive(page, { timeoutMs: cfg.runTimeoutMs ?? 240_000 });
        }),
    );
    await step(
      "upload a prompt set and see its bad row",
      shell?.uploadPromptSet &&
        (async () => {
          await page.goto(`${BASE}/projects/${cfg.projectId}`);
          await page.getByTestId("project-nav").waitFor();
          const out = await shell.uploadPromptSet(page, cfg.badPromptFile, { name: "with-a-bad-row" });
          const bad = out.badRows.find((r) => r.line === cfg.badPromptLine);
          if (!bad) throw new Error(`line ${cfg.badPromptLine} is not reported as bad: ${JSON.stringify(out)}`);
          return { status: out.status, bad };
        }),
    );
    await step(
      "launch the demo recipe from the wizard",
      shell?.launchFromWizard &&
        (async () => {
          await page.goto(`${BASE}/projects/${cfg.projectId}`);
          await page.getByTestId("project-nav").waitFor();
          // the demo preset without its long training (the evaluated demo run is cfg.evalRunId)
          const runId = await shell.launchFromWizard(page, {
            promptSet: cfg.demo.promptSetName,
            teacher: cfg.demo.teacherName,
            student: cfg.demo.studentPath,
            name: "wizard-demo",
            train: false,
            evaluate: false,
          });
          state.launchedRunId = runId;
          return { runId };
        }),
    );
    await step(
      "watch a run finish without reloading",
      run?.watchRunLive &&
        (async () => {
          const runId = state.launchedRunId ?? cfg.evalRunId;
          if (!state.launchedRunId) await run.openRun(page, { ...ctx, runId });
          const seen = await run.watchRunLive(page, { timeoutMs: cfg.runTimeoutMs ?? 240_000 });
          return { runId, seen: seen.slice(-3) };
        }),
    );
    await step(
      "open a trace with LaTeX",
      run?.openTraceWithLatex &&
        (() => run.openTraceWithLatex(page, { ...ctx, runId: cfg.judgeRunId, generationId: cfg.latexGenerationId })),
    );
    await step("review a judge-rejected attempt with the keyboard only", () =>
      review.reviewWithKeyboard(page, { ...ctx, runId: cfg.judgeRunId, reason: "judge_rejected", key: "r" }),
    );
    await step("read the evaluation table", () =>
      review.readEvaluationTable(page, { ...ctx, runId: state.evalRunId ?? cfg.evalRunId, timeoutMs: cfg.runTimeoutMs ?? 240_000 }),
    );
    // the trained run's snapshot and model, trained and evaluated again by runs of one stage each
    for (const [sequence, title] of [
      ["train-only", "launch a train-only run of an existing snapshot from the wizard"],
      ["evaluate-only", "launch an evaluate-only run of an existing model from the wizard"],
    ]) {
      await step(
        title,
        shell?.launchFromWizard &&
          (async () => {
            const made = await page.evaluate(
              async ([pid, runId]) => {
                const token = window.localStorage.getItem("distillery.token");
                const r = await fetch(`/api/projects/${pid}/runs/${runId}`, { headers: { Authorization: `Bearer ${token}` } });
                return (await r.json()).summary?.train ?? null;
              },
              [cfg.projectId, cfg.evalRunId],
            );
            if (!made?.snapshot_id || !made?.artifact_id) throw new Error(`run ${cfg.evalRunId} made no snapshot and model: ${JSON.stringify(made)}`);
            await page.goto(`${BASE}/projects/${cfg.projectId}`);
            await page.getByTestId("project-nav").waitFor();
            const runId = await shell.launchFromWizard(page, {
              sequence,
              promptSet: cfg.demo.promptSetName,
              student: cfg.demo.studentPath,
              name: `wizard-${sequence}`,
              snapshotId: made.snapshot_id,
              waive: ["truncated_traces"],
              model: `artifact:${made.artifact_id}`,
              evalPrompts: cfg.demo.evalPrompts,
            });
            const status = await shell.waitForRun(page, runId, { timeoutMs: cfg.runTimeoutMs ?? 240_000 });
            const stages = await page.getByTestId("stage").evaluateAll((els) => els.map((e) => e.getAttribute("data-stage-kind")));
            if (status !== "succeeded") throw new Error(`the ${sequence} run ${runId} ended ${status}`);
            return { runId, status, stages };
          }),
      );
    }
    await step("judge page", () => review.checkJudgePage(page, ctx));
    await step("teachers page", () => review.checkTeachersPage(page, { ...ctx, secret: cfg.teacherSecret }));
    await step("members page", () => review.checkMembersPage(page, ctx));
    await step("screenshots, light and dark", () => screenshots(page, state));
  } catch (err) {
    results.harness = { status: "failed", error: String(err?.stack ?? err) };
  } finally {
    await context?.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
  results["no console errors"] = problems.length
    ? { status: "failed", error: problems.slice(0, 20).join("\n") }
    : { status: "passed" };
  console.log(`E2E-RESULT ${JSON.stringify(results)}`);
  mkdirSync(cfg.artifacts, { recursive: true });
  writeFileSync(join(cfg.artifacts, "e2e-results.json"), JSON.stringify(results, null, 1));
  const failed = Object.entries(results).filter(([, r]) => r.status === "failed");
  for (const [name, r] of failed) console.error(`FAILED ${name}: ${r.error}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`e2e crashed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
