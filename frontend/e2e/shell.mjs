#!/usr/bin/env node
/**
 * Chromium checks of the dashboard shell's pages (login, prompt-set upload, launch wizard), as functions
 * an end-to-end harness imports:
 *
 *   import { login, openProject, uploadPromptSet, launchFromWizard, waitForRun } from "./shell.mjs";
 *
 * Run directly, it is tests/e2e/test_dashboard_shell.py's script:
 *
 *   BASE_URL=... E2E_EMAIL=... E2E_PASSWORD=... E2E_PROJECT=name E2E_BAD_FILE=bad.jsonl E2E_BAD_LINE=3 \
 *   E2E_GOOD_FILE=good.jsonl E2E_TEACHER=name E2E_STUDENT=/path/to/student [E2E_SCREENSHOT_DIR=dir] \
 *   [E2E_TIMEOUT_MS=600000] [CHROMIUM_PATH=/usr/bin/chromium] node e2e/shell.mjs
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

const log = (...a) => console.log(`[shell e2e ${new Date().toISOString()}]`, ...a);

/** Sign in through the form (any page redirects there); resolves once the projects table shows. */
export async function login(page, baseUrl, email, password) {
  await page.goto(baseUrl, { waitUntil: "domcontentloaded" });
  await page.getByTestId("login-form").waitFor();
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  const loginError = page.getByTestId("login-error");
  await Promise.race([
    page.getByTestId("projects-table").waitFor(),
    loginError.waitFor().then(async () => {
      throw new Error(`login failed: ${await loginError.innerText()}`);
    }),
  ]);
  log("logged in");
}

/** Open a project from the projects list by its exact name. */
export async function openProject(page, name) {
  await page.getByTestId("project-link").getByText(name, { exact: true }).first().click();
  await page.getByTestId("project-nav").waitFor();
  log(`opened project ${JSON.stringify(name)} at ${page.url()}`);
}

/**
 * Upload a file on the Prompt sets page and wait for the import job to end. Returns
 * { status, badRows: [{ line, text }], link } (link: the new version's name, when it was stored).
 */
export async function uploadPromptSet(page, filePath, { name, evalRatio, nearDuplicates = true, timeoutMs = 120_000 } = {}) {
  await page.getByTestId("nav-prompt-sets").click();
  await page.waitForURL(/\/prompt-sets$/, { timeout: 30_000 });
  const form = page.getByTestId("upload-prompt-set");
  // The form shows once the project query says the caller is a maintainer; on a loaded 2-core CI machine
  // (a training running beside this step) that request has taken over 15 s.
  await form.waitFor({ timeout: 60_000 });
  await form.getByTestId("upload-file").setInputFiles(filePath);
  if (name) await form.getByTestId("upload-name").fill(name);
  if ((await form.getByTestId("clean-near-dup").isChecked()) !== nearDuplicates) await form.getByTestId("clean-near-dup").click();
  if (evalRatio !== undefined) await form.getByTestId("clean-eval-ratio").fill(String(evalRatio));
  await form.getByTestId("upload-submit").click();
  const result = form.getByTestId("import-result");
  await result.waitFor({ timeout: timeoutMs });
  await page.waitForFunction(
    () => ["succeeded", "failed", "cancelled"].includes(document.querySelector('[data-testid="import-result"]')?.getAttribute("data-job-status") ?? ""),
    null,
    { timeout: timeoutMs },
  );
  const status = await result.getAttribute("data-job-status");
  const badRows = [];
  for (const row of await result.getByTestId("bad-row").all()) {
    badRows.push({ line: Number(await row.getAttribute("data-row")), text: await row.innerText() });
  }
  const imported = result.getByTestId("imported-link");
  const link = (await imported.count()) > 0 ? await imported.innerText() : null;
  log(`uploaded ${basename(filePath)}: import ${status}; ${badRows.length} bad row(s)${link ? `; created ${link}` : ""}`);
  return { status, badRows, link };
}

/**
 * Launch a run from the wizard and return its id (the page is on its run page then). `sequence` picks the
 * stages: "demo", the demo recipe preset on the given prompt set (its option text) and teacher (its name),
 * with the student path the worker can read (`train`, `evaluate` switch those stages); "train-only", no
 * rollout: the student trained on an existing snapshot (`snapshotId`) for `maxSteps`, the pre-flight
 * checks in `waive` waived; "evaluate-only", no rollout: `model` (artifact:<id>) as the student against
 * `student` as the base, scored by verifiers of the evaluation's own.
 */
export async function launchFromWizard(
  page,
  {
    promptSet,
    teacher,
    student,
    name = "wizard-demo",
    train = true,
    evaluate = true,
    screenshotDir = "",
    sequence = "demo",
    snapshotId,
    maxSteps = 2,
    waive = [],
    model,
    evalPrompts = 4,
  },
) {
  await page.getByTestId("nav-new-run").click();
  await page.getByTestId("wizard-step-data").waitFor();
  const setSelect = page.getByTestId("field-prompt_set_id");
  const setOption = setSelect.locator("option").filter({ hasText: promptSet }).first();
  await setOption.waitFor({ state: "attached" });
  if (sequence === "demo") {
    const teacherSelect = page.getByTestId("field-teacher_id");
    const teacherOption = teacherSelect.locator("option").filter({ hasText: teacher }).first();
    await teacherOption.waitFor({ state: "attached" });
    await page.getByTestId("wizard-demo").click();
    await setSelect.selectOption(await setOption.getAttribute("value"));
    await teacherSelect.selectOption(await teacherOption.getAttribute("value"));
  } else {
    await setSelect.selectOption(await setOption.getAttribute("value"));
    await setChecked(page.getByTestId("field-rollout"), false);
    await setChecked(page.getByTestId("field-profile"), false);
    train = sequence === "train-only";
    evaluate = sequence === "evaluate-only";
  }
  await page.getByTestId("field-name").fill(name);
  await page.getByTestId("step-training").click();
  await setChecked(page.getByTestId("field-train"), train);
  if (train) await page.getByTestId("field-train.student").fill(student);
  if (sequence === "train-only") {
    await page.getByTestId("field-train.snapshot_id").fill(String(snapshotId));
    await page.getByTestId("field-train.max_steps").fill(String(maxSteps));
    for (const check of waive) await setChecked(page.getByTestId(`field-train.override_checks-${check}`), true);
  }
  await page.getByTestId("step-evaluation").click();
  await setChecked(page.getByTestId("field-evaluate"), evaluate);
  if (sequence === "evaluate-only") {
    await setChecked(page.getByTestId("eval-teacher"), false);
    await page.getByTestId("field-evaluate.models.0.model").fill(student);
    await page.getByTestId("field-evaluate.models.1.model").fill(model);
    await page.getByTestId("field-evaluate.max_tokens").fill("160");
    await page.getByTestId("field-evaluate.max_prompts").fill(String(evalPrompts));
    await setChecked(page.getByTestId("field-evaluate.verifiers"), true);
    await setChecked(page.getByTestId("eval-verifier-math"), true);
  }
  await page.getByTestId("step-launch").click();
  const stages = await page.getByTestId("wizard-stages").innerText();
  if (sequence === "demo") {
    const attempts = page.getByTestId("estimate-attempts");
    await attempts.waitFor();
    log(`wizard estimate: ${await attempts.innerText()}; ${stages}`);
  } else {
    const want = sequence === "train-only" ? "train" : "evaluate";
    if (stages.replace(/^Stages:\s*/, "").trim() !== want) throw new Error(`the wizard would run ${stages}, not ${want} alone`);
    log(`wizard: ${stages}`);
  }
  const yaml = await page.getByTestId("wizard-yaml").innerText();
  if (!yaml.includes("stages:")) throw new Error(`the wizard shows no recipe YAML: ${yaml.slice(0, 200)}`);
  if (sequence !== "demo" && yaml.includes("rollout:")) throw new Error(`a ${sequence} recipe has a rollout: ${yaml}`);
  if (screenshotDir) await screenshotBothThemes(page, screenshotDir, "wizard-launch");
  await page.getByTestId("wizard-launch").click();
  await page.waitForURL((u) => /\/runs\/\d+$/.test(u.pathname));
  const runId = Number(page.url().match(/\/runs\/(\d+)$/)[1]);
  log(`launched run ${runId} (${sequence}) from the wizard`);
  return runId;
}

/** Tick or untick a checkbox to `on`. */
async function setChecked(box, on) {
  if ((await box.isChecked()) !== on) await box.click();
}

/** Watch the run page (never reloaded) until the run ends; returns its final status. */
export async function waitForRun(page, runId, { timeoutMs = 600_000 } = {}) {
  const detail = page.locator(`[data-testid="run-detail"][data-run-id="${runId}"]`);
  await detail.waitFor();
  const deadline = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    const status = await detail.getAttribute("data-run-status");
    if (status !== last) {
      log(`run ${runId}: ${status}`);
      last = status;
    }
    if (["succeeded", "failed", "cancelled"].includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${status} after ${timeoutMs} ms`);
    await page.waitForTimeout(1000);
  }
}

/** Screenshot the current page in light and dark (theme toggle), as NAME-light.png and NAME-dark.png. */
export async function screenshotBothThemes(page, dir, name) {
  const toggle = page.getByTestId("theme-toggle");
  const shots = [];
  for (const theme of ["light", "dark"]) {
    if ((await toggle.getAttribute("data-theme")) !== theme) await toggle.click();
    await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
    const path = join(dir, `${name}-${theme}.png`);
    await page.screenshot({ path, fullPage: true });
    shots.push(path);
  }
  return shots;
}

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === "") throw new Error(`missing required environment variable ${name}`);
  return v;
}

async function main() {
  const baseUrl = env("BASE_URL");
  const timeoutMs = Number(process.env.E2E_TIMEOUT_MS || 600_000);
  const shotDir = process.env.E2E_SCREENSHOT_DIR || "";
  const userDataDir = mkdtempSync(join(tmpdir(), "distillery-shell-e2e-"));
  const problems = [];
  let context;
  let page;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));

    await login(page, baseUrl, env("E2E_EMAIL"), env("E2E_PASSWORD"));
    await openProject(page, env("E2E_PROJECT"));

    const badLine = Number(env("E2E_BAD_LINE"));
    const bad = await uploadPromptSet(page, env("E2E_BAD_FILE"), { name: "with-a-bad-row" });
    if (bad.status !== "failed") throw new Error(`the file with a bad row imported (${bad.status}); expected it refused`);
    if (!bad.badRows.some((r) => r.line === badLine)) {
      throw new Error(`the bad row on line ${badLine} is not reported; rows shown: ${JSON.stringify(bad.badRows)}`);
    }
    log(`the bad row is reported: line ${badLine}: ${bad.badRows.find((r) => r.line === badLine).text.replace(/\s+/g, " ")}`);
    if (shotDir) await screenshotBothThemes(page, shotDir, "prompt-sets-bad-row");

    const good = await uploadPromptSet(page, env("E2E_GOOD_FILE"), { name: "wizard-prompts", evalRatio: 0.25, nearDuplicates: false });
    if (good.status !== "succeeded" || !good.link) throw new Error(`the good file did not import: ${good.status}`);
    await page.getByTestId("imported-link").click();
    await page.getByTestId("prompt-set-name").waitFor();
    await page.getByTestId("tab-stats").click();
    await page.getByTestId("length-histogram").locator(".recharts-bar-rectangle").first().waitFor();
    log("the new version's statistics show a length histogram");
    if (shotDir) await screenshotBothThemes(page, shotDir, "prompt-set-stats");

    const runId = await launchFromWizard(page, {
      promptSet: good.link,
      teacher: env("E2E_TEACHER"),
      student: env("E2E_STUDENT"),
      train: process.env.E2E_TRAIN !== "0",
      evaluate: process.env.E2E_TRAIN !== "0",
      screenshotDir: shotDir,
    });
    const status = await waitForRun(page, runId, { timeoutMs });
    if (shotDir) await screenshotBothThemes(page, shotDir, "wizard-run");
    if (status !== "succeeded") throw new Error(`the wizard's run ended ${status}`);
    if (problems.length) throw new Error(`the browser logged errors:\n  ${problems.join("\n  ")}`);
    log(`PASS: bad row reported, prompt set imported, wizard run ${runId} succeeded`);
    return 0;
  } catch (err) {
    console.error(`shell e2e FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (page) {
      console.error(`url: ${page.url()}`);
      console.error((await page.locator("body").innerText({ timeout: 2000 }).catch(() => "")).slice(0, 4000));
    }
    if (problems.length) console.error(`browser log:\n  ${problems.slice(-30).join("\n  ")}`);
    return 1;
  } finally {
    await context?.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`shell e2e crashed: ${err?.stack ?? err}`);
      process.exit(1);
    },
  );
}
