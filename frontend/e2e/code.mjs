#!/usr/bin/env node
/**
 * Code where people judge it, in Chromium: a code set's attempt in the review queue and in the trace view
 * keeps its indentation and lines, is highlighted, scrolls sideways instead of being cut, is set at a
 * readable size, and changes palette with the theme; screenshots of both views, light and dark.
 * tests/e2e/test_code_views.py seeds the run (HumanEval prompts, Python answers) and runs:
 *
 *   BASE_URL=... E2E_EMAIL=... E2E_PASSWORD=... E2E_PROJECT_ID=3 E2E_RUN_ID=5 E2E_GENERATION_ID=77 \
 *   E2E_SCREENSHOT_DIR=dir [CHROMIUM_PATH=/usr/bin/chromium] node e2e/code.mjs
 *
 * Prints `CODE-RESULT {json}` (what was measured, the screenshots); exits 1 on any failed check or
 * console error.
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, login } from "./shell.mjs";

const log = (...a) => console.log(`[code e2e ${new Date().toISOString()}]`, ...a);

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** What a code block looks like in the page: its text, classes, size and whether it scrolls. */
async function measure(block) {
  return block.evaluate((code) => {
    const pre = code.parentElement;
    const style = getComputedStyle(code);
    const keyword = code.querySelector(".hljs-keyword");
    return {
      text: code.textContent,
      classes: code.className,
      keywords: code.querySelectorAll(".hljs-keyword").length,
      fontSizePx: parseFloat(style.fontSize),
      fontFamily: style.fontFamily,
      whiteSpace: getComputedStyle(pre).whiteSpace,
      overflowX: getComputedStyle(pre).overflowX,
      scrolls: pre.scrollWidth > pre.clientWidth,
      keywordColor: keyword ? getComputedStyle(keyword).color : null,
    };
  });
}

function check(ok, what, got) {
  if (!ok) throw new Error(`${what}; got ${JSON.stringify(got).slice(0, 400)}`);
}

/** The checks every code block must pass; `indented` is a line the block must hold as written. */
function checkBlock(m, where, indented) {
  check(m.classes.includes("hljs"), `${where}: the code block is not highlighted`, m.classes);
  check(m.keywords > 0, `${where}: no keyword is marked`, m);
  check(m.text.includes(indented), `${where}: the line ${JSON.stringify(indented)} lost its indentation`, m.text);
  check(m.text.split("\n").length >= 3, `${where}: the code lost its line breaks`, m.text);
  check(m.whiteSpace === "pre", `${where}: white-space is ${m.whiteSpace}, not pre`, m);
  check(m.fontSizePx >= 13, `${where}: the code is set at ${m.fontSizePx}px`, m);
  check(/mono|Menlo|Consolas|Courier/i.test(m.fontFamily), `${where}: not a monospace font`, m.fontFamily);
}

async function bothThemes(page, dir, name, locator) {
  const toggle = page.getByTestId("theme-toggle");
  const shots = [];
  const colours = {};
  for (const theme of ["light", "dark"]) {
    if ((await toggle.getAttribute("data-theme")) !== theme) await toggle.click();
    await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
    colours[theme] = (await measure(locator)).keywordColor;
    const path = join(dir, `${name}-${theme}.png`);
    await page.screenshot({ path, fullPage: true });
    shots.push(path);
  }
  check(colours.light !== colours.dark, `${name}: keywords have one colour in both themes`, colours);
  return { shots, colours };
}

async function main() {
  const base = env("BASE_URL");
  const [projectId, runId, generationId] = ["E2E_PROJECT_ID", "E2E_RUN_ID", "E2E_GENERATION_ID"].map((n) => Number(env(n)));
  const dir = env("E2E_SCREENSHOT_DIR");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const problems = [];
  const result = { review: {}, trace: {}, screenshots: [] };
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console.error at ${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error at ${page.url()}: ${e.message}`));
    await login(page, base, env("E2E_EMAIL"), env("E2E_PASSWORD"));

    // The review queue: the attempt's program, the reference (HumanEval's canonical solution), the prompt.
    await page.goto(`${base}/projects/${projectId}/runs/${runId}/review`);
    const item = page.getByTestId("review-item");
    await item.waitFor({ timeout: 30_000 });
    const answer = item.getByTestId("review-content").locator("pre > code").first();
    await answer.waitFor();
    result.review.answer = await measure(answer);
    checkBlock(result.review.answer, "review answer", "            if abs(a - b) < threshold:");
    check(result.review.answer.scrolls && result.review.answer.overflowX === "auto", "review answer: the long line is cut, not scrolled", result.review.answer);
    result.review.reference = await measure(item.getByTestId("review-reference").locator("pre > code").first());
    checkBlock(result.review.reference, "review reference", "        for idx2, elem2 in enumerate(numbers):");
    result.review.prompt = await measure(item.getByTestId("review-prompt").locator("pre > code").first());
    checkBlock(result.review.prompt, "review prompt", "    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)");
    await item.getByTestId("review-attempt").scrollIntoViewIfNeeded();
    const review = await bothThemes(page, dir, "code-review", answer);
    result.review.colours = review.colours;
    result.screenshots.push(...review.shots);
    log(`review: ${result.review.answer.fontSizePx}px code, keywords ${JSON.stringify(review.colours)}`);

    // The trace view: the answer pinned beside the reference, the prompt and its tests.
    await page.goto(`${base}/projects/${projectId}/runs/${runId}/samples/${generationId}`);
    const trace = page.getByTestId("trace");
    await trace.waitFor({ timeout: 30_000 });
    const traced = trace.getByTestId("trace-answer").locator("pre > code").first();
    result.trace.answer = await measure(traced);
    checkBlock(result.trace.answer, "trace answer", "            if abs(a - b) < threshold:");
    check(result.trace.answer.scrolls, "trace answer: the long line is cut, not scrolled", result.trace.answer);
    result.trace.reference = await measure(trace.getByTestId("trace-reference").locator("pre > code").first());
    checkBlock(result.trace.reference, "trace reference", "        for idx2, elem2 in enumerate(numbers):");
    await trace.getByTestId("tests-view").locator("summary").click();
    result.trace.tests = await measure(trace.getByTestId("tests-view").locator("pre > code").first());
    checkBlock(result.trace.tests, "trace tests", "    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True");
    const tracedShots = await bothThemes(page, dir, "code-trace", traced);
    result.trace.colours = tracedShots.colours;
    result.screenshots.push(...tracedShots.shots);
    log(`trace: ${result.trace.answer.fontSizePx}px code, keywords ${JSON.stringify(tracedShots.colours)}`);
  } catch (err) {
    problems.push(String(err?.stack ?? err));
  } finally {
    await browser.close();
  }
  result.problems = problems;
  console.log(`CODE-RESULT ${JSON.stringify(result)}`);
  if (problems.length) {
    for (const p of problems) console.error(`FAILED ${p}`);
    process.exit(1);
  }
}

await main();
