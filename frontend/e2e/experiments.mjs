#!/usr/bin/env node
/**
 * The Experiments page in Chromium (tests/e2e/test_experiments_page.py's script): log in, open the
 * project's Experiments page from the project navigation, see the experiment's table (factors, scores
 * with intervals, cost per point) and a pressure test's verdict, and screenshot both in light and dark.
 *
 *   BASE_URL=... E2E_EMAIL=... E2E_PASSWORD=... E2E_PROJECT=name E2E_SCREENSHOT_DIR=dir \
 *   E2E_EXPERIMENT=name E2E_PRESSURE=name [CHROMIUM_PATH=/usr/bin/chromium] node e2e/experiments.mjs
 */
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, login, openProject, screenshotBothThemes } from "./shell.mjs";

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: CHROMIUM_ARGS });
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await login(page, need("BASE_URL"), need("E2E_EMAIL"), need("E2E_PASSWORD"));
  await openProject(page, need("E2E_PROJECT"));
  await page.getByTestId("nav-experiments").click();
  await page.getByTestId("experiments-page").waitFor();
  await page.getByRole("button", { name: need("E2E_EXPERIMENT") }).click();
  const table = page.getByTestId("experiment-table");
  await table.waitFor();
  const text = await table.innerText(); // headers come uppercased by the CSS
  for (const want of ["attempts per prompt", "+50.0", "$0.0200"]) {
    if (!text.toLowerCase().includes(want.toLowerCase())) throw new Error(`the table lacks ${want}: ${text}`);
  }
  console.log("the experiment's table shows its factors, gain and cost per point");
  const dir = need("E2E_SCREENSHOT_DIR");
  await screenshotBothThemes(page, dir, "experiments");
  await page.getByRole("button", { name: need("E2E_PRESSURE") }).click();
  const verdict = page.getByTestId("pressure-verdict");
  await verdict.waitFor();
  console.log(`the pressure test's verdict: ${await verdict.getAttribute("data-verdict")}`);
  await screenshotBothThemes(page, dir, "experiments-pressure");
  if (errors.length) throw new Error(`console errors: ${errors.join(" | ")}`);
} finally {
  await browser.close();
}
