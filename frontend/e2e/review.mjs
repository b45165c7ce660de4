/**
 * dash-review's end-to-end steps (playwright-core `page`s), used by e2e/whole.mjs:
 *
 *   import { reviewWithKeyboard, readEvaluationTable, checkJudgePage, checkTeachersPage, checkMembersPage } from "./review.mjs";
 *   const r = await reviewWithKeyboard(page, { baseUrl, projectId, runId, reason: "judge_rejected", key: "r" });
 *   const t = await readEvaluationTable(page, { baseUrl, projectId, runId });
 *
 * Each throws an Error saying what it waited for and what the page showed; each returns what it read.
 */

async function shown(locator, n = 600) {
  try {
    return (await locator.innerText({ timeout: 2000 })).slice(0, n);
  } catch {
    return "(nothing)";
  }
}

/**
 * Open a run's review queue and decide items with the keyboard only: `s` (skip) past items whose reason
 * is not `reason` (at most `maxSkips`), check the judge's score and rationale are shown, open and close the
 * `?` overlay, press `key` (a accept, r reject) and wait for the decision to land in "Decided here";
 * then `u` (undo) brings the item back and `key` decides it again. Returns what was shown and decided.
 */
export async function reviewWithKeyboard(page, { baseUrl, projectId, runId, reason = "judge_rejected", key = "r", maxSkips = 10 }) {
  await page.goto(`${baseUrl}/projects/${projectId}/runs/${runId}/review`);
  const root = page.getByTestId("review-page");
  await root.waitFor({ timeout: 30_000 });
  const item = root.getByTestId("review-item");
  for (let skips = 0; ; skips++) {
    try {
      await item.waitFor({ timeout: 20_000 });
    } catch {
      throw new Error(`no review item was claimed; the page showed: ${await shown(root)}`);
    }
    const got = await item.getAttribute("data-reason");
    if (got === reason) break;
    if (skips >= maxSkips) throw new Error(`no item with reason ${reason} after ${skips} skips (last: ${got})`);
    const task = await item.getAttribute("data-task-id");
    await page.keyboard.press("s");
    await page.locator(`[data-testid="review-item"]:not([data-task-id="${task}"])`).waitFor({ timeout: 15_000 });
  }
  const taskId = await item.getAttribute("data-task-id");
  const generationId = Number(await item.getByTestId("review-attempt").getAttribute("data-generation-id"));
  const rationale = await item.getByTestId("review-rationale").innerText();
  const score = await item.getByTestId("review-judge-score").innerText();

  await page.keyboard.press("?");
  const help = page.getByTestId("review-help");
  await help.waitFor({ timeout: 5000 });
  const helpText = await help.innerText();
  for (const k of ["j", "k", "a", "r", "e", "s", "u"]) {
    if (!new RegExp(`(^|\\s)${k}(\\s|$)`, "m").test(helpText)) throw new Error(`the ? overlay does not list ${k}: ${helpText}`);
  }
  await page.keyboard.press("Escape");
  await help.waitFor({ state: "detached", timeout: 5000 });

  const decided = page.getByTestId("review-history").locator("li");
  const before = await decided.count();
  await page.keyboard.press(key);
  await page.waitForFunction(
    ([n]) => document.querySelectorAll('[data-testid="review-history"] li').length > n,
    [before],
    { timeout: 15_000 },
  );
  // the next item is claimed (or the queue says it is drained)
  await page
    .locator(`[data-testid="review-item"]:not([data-task-id="${taskId}"]), [data-testid="review-drained"]`)
    .first()
    .waitFor({ timeout: 15_000 });
  const last = await decided.last().innerText();
  const word = key === "a" ? "accept" : "reject";
  if (!last.includes(`#${generationId}`) || !last.includes(word)) {
    throw new Error(`"Decided here" shows ${JSON.stringify(last)}, expected #${generationId} ${word}`);
  }
  const actionError = page.getByTestId("review-action-error");
  if (await actionError.count()) throw new Error(`review error: ${await actionError.innerText()}`);

  // k shows the decision just made; j comes back
  await page.keyboard.press("k");
  await page.getByTestId("review-past").waitFor({ timeout: 5000 });
  await page.keyboard.press("j");
  await page.getByTestId("review-past").waitFor({ state: "detached", timeout: 5000 });

  // u takes it back (the same item is open again), and the key decides it once more
  await page.keyboard.press("u");
  await page.locator(`[data-testid="review-item"][data-task-id="${taskId}"]`).waitFor({ timeout: 15_000 });
  await page.keyboard.press(key);
  await page.waitForFunction(
    ([n]) => document.querySelectorAll('[data-testid="review-history"] li').length > n,
    [before],
    { timeout: 15_000 },
  );
  const left = await page.getByTestId("review-left").innerText();
  return { taskId: Number(taskId), generationId, reason, score, rationale, decided: word, left };
}

/**
 * Open a run's evaluation page (waiting up to timeoutMs while the run still runs: the page updates
 * itself): the scores table and the per-prompt table; then the "student fails,
 * teacher passes" filter (kept in the URL) and the side-by-side answers of its first row, if any.
 */
export async function readEvaluationTable(page, { baseUrl, projectId, runId, timeoutMs = 30_000 }) {
  await page.goto(`${baseUrl}/projects/${projectId}/runs/${runId}/evaluation`);
  const root = page.getByTestId("evaluation-page");
  await root.waitFor({ timeout: 30_000 });
  try {
    // the page polls while the run is unfinished: no reload needed for the run to finish and the
    // tables to fill in
    await page
      .locator('[data-testid="evaluation-page"]:is([data-run-status="succeeded"], [data-run-status="failed"], [data-run-status="cancelled"])')
      .waitFor({ timeout: timeoutMs });
    await root.getByTestId("evaluation-scores").waitFor({ timeout: timeoutMs });
    await root.getByTestId("eval-table").waitFor({ timeout: timeoutMs });
  } catch {
    throw new Error(`the evaluation tables did not appear; the page showed: ${await shown(root)}`);
  }
  const scores = await root.getByTestId("evaluation-score-row").evaluateAll((rows) =>
    rows.map((r) => Array.from(r.querySelectorAll("td")).map((td) => td.textContent.trim())),
  );
  const rows = await root.getByTestId("eval-row").evaluateAll((rows) =>
    rows.map((r) => ({
      promptId: Number(r.getAttribute("data-prompt-id")),
      passed: Array.from(r.querySelectorAll('[data-testid="eval-outcome"]')).map((o) => o.getAttribute("data-passed") === "true"),
    })),
  );
  if (rows.length === 0) throw new Error("the per-prompt table is empty");
  const status = await root.getAttribute("data-run-status");
  if (status !== "succeeded") throw new Error(`the evaluated run ended ${status}`);
  await root.getByTestId("eval-filter-student_fails_teacher_passes").check();
  await page.waitForURL((u) => u.searchParams.get("filter") === "student_fails_teacher_passes", { timeout: 10_000 });
  await Promise.race([
    root.getByTestId("eval-empty").waitFor({ timeout: 15_000 }),
    root.locator('[data-testid="eval-row"]').first().waitFor({ timeout: 15_000 }),
  ]);
  const filtered = await root.getByTestId("eval-row").count();
  let sideBySide = 0;
  if (filtered > 0) {
    await root.getByTestId("eval-row").first().click();
    sideBySide = await root.getByTestId("eval-side").locator('[data-testid="eval-side-content"]').count();
  }
  return { scores, rows, filtered, sideBySide };
}

/** The judge page: the rubric versions and a calibration report (any status) with its message or numbers. */
export async function checkJudgePage(page, { baseUrl, projectId }) {
  await page.goto(`${baseUrl}/projects/${projectId}/judge`);
  const root = page.getByTestId("judge-page");
  await root.waitFor({ timeout: 30_000 });
  await root.getByTestId("rubric-version").first().waitFor({ timeout: 20_000 });
  const cal = root.getByTestId("calibration");
  await cal.waitFor({ timeout: 20_000 });
  return { status: await cal.getAttribute("data-status"), versions: await root.getByTestId("rubric-version").count() };
}

/** The teachers page: each teacher's key shown as set/unset, never a key. */
export async function checkTeachersPage(page, { baseUrl, projectId, secret }) {
  await page.goto(`${baseUrl}/projects/${projectId}/teachers`);
  const table = page.getByTestId("teachers-table");
  await table.waitFor({ timeout: 30_000 });
  const keys = await table.getByTestId("teacher-key").allInnerTexts();
  if (secret && (await page.content()).includes(secret)) throw new Error("a teacher's API key is in the page");
  // "Measure speed" on the endpoint teacher: the probe job runs on the real worker against the fake
  // OpenAI server, and the row then shows what it measured
  const row = table.getByTestId("teacher-row").filter({ hasText: "e2e-teacher" }).first();
  await row.getByTestId("teacher-probe-start").click();
  const probe = row.getByTestId("teacher-probe");
  await probe.waitFor({ timeout: 120_000 });
  const measured = await probe.innerText();
  if (!/tokens\/s per request/.test(measured)) throw new Error(`the probe did not measure: ${measured}`);
  if (secret && (await page.content()).includes(secret)) throw new Error("a teacher's API key is in the page");
  return { teachers: keys.length, keys, probe: measured };
}

/** The members page: members with roles. */
export async function checkMembersPage(page, { baseUrl, projectId }) {
  await page.goto(`${baseUrl}/projects/${projectId}/members`);
  const table = page.getByTestId("members-table");
  await table.waitFor({ timeout: 30_000 });
  await table.getByTestId("member-row").first().waitFor();
  return { members: await table.getByTestId("member-row").count() };
}
