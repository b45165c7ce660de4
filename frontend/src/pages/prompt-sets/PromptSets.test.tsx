import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import { histogramBins, readStats } from "../../lib/promptStats";
import { fakeXhr, jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "maintainer" };

function pset(over: Record<string, unknown> = {}) {
  return {
    id: 7, project_id: 3, name: "gsm8k", version: 1, parent_id: null, source: "gsm8k.jsonl", status: "ready",
    frozen: false, prompt_count: 45, created_at: "2026-01-01T00:00:00",
    stats: {
      count: 45, source: "gsm8k.jsonl", rows_read: 50, rejected: 0,
      removed: { exact_duplicate: 3, near_duplicate: 1, contaminated: 1 },
      splits: { train: 40, eval: 5 },
      chars: { count: 45, min: 10, max: 90, mean: 40.5, percentiles: { p50: 38, p90: 80 }, histogram: { edges: [10, 50, 90], counts: [30, 15] } },
      references: { with_reference: 45, unparseable: 2, examples: [{ row: 4, reference: "about 7" }] },
      cleaning: { dedup_exact: true, near_dup_threshold: 0.8, shingle_words: 5, decontaminate_against: null, ngram: 8, eval_ratio: 0.1, split_seed: "" },
    },
    ...over,
  };
}

const job = (over: Record<string, unknown>) => ({
  id: 31, project_id: 3, kind: "prompt_import", status: "running", progress_done: 0, progress_total: null,
  result: {}, error: null, created_at: "2026-01-01T00:00:00", started_at: null, finished_at: null, ...over,
});

describe("prompt sets", () => {
  it("uploads with byte progress, follows the import job, and reports the bad row with its line", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/prompt-sets");
    let polls = 0;
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/prompt-sets": () => jsonResponse([pset()]),
      "GET /api/projects/3/jobs/31": () => {
        polls += 1;
        if (polls === 1) return jsonResponse(job({ progress_done: 2 }));
        return jsonResponse(
          job({
            status: "failed",
            progress_done: 3,
            error: {
              code: "invalid_rows",
              message: "1 of 3 rows are invalid (first: row 2, field prompt: no prompt text); nothing was stored",
              details: {
                report: {
                  rows_read: 3, rows_stored: 0, rows_rejected: 1, reasons: { missing_prompt: 1 }, removed: {},
                  errors: [{ row: 2, field: "prompt", reason: "missing_prompt", message: "no prompt text" }],
                },
              },
            },
          }),
        );
      },
    });
    const sent = fakeXhr(() => ({ status: 202, body: job({ status: "queued" }) }), [10, 40]);
    renderWithClient(<App />);
    const u = userEvent.setup();

    expect(await screen.findByTestId("prompt-set-link")).toHaveTextContent("gsm8k v1");
    const file = new File(['{"prompt": "1+1?"}\n{"nope": 1}\n{"prompt": "2+2?"}\n'.padEnd(80, " ")], "bad.jsonl", {
      type: "application/jsonl",
    });
    await u.upload(screen.getByTestId("upload-file"), file);
    expect(screen.getByTestId("upload-name")).toHaveValue("bad");
    await u.click(screen.getByTestId("clean-near-dup"));
    await u.click(screen.getByTestId("upload-submit"));

    // The bytes' progress while the request is being sent.
    const bar = await screen.findByTestId("upload-progress");
    await waitFor(() => expect(within(bar).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50"));

    // Then the job, polled until it ends, and its report.
    const result = await screen.findByTestId("import-result");
    await waitFor(() => expect(result).toHaveAttribute("data-job-status", "failed"), { timeout: 4000 });
    expect(within(result).getByTestId("job-error")).toHaveTextContent("1 of 3 rows are invalid");
    const bad = within(result).getByTestId("bad-row");
    expect(bad).toHaveAttribute("data-row", "2");
    expect(bad).toHaveTextContent("no prompt text");

    expect(sent).toHaveLength(1);
    expect(sent[0].url).toBe("/api/projects/3/prompt-sets");
    expect(sent[0].headers.Authorization).toBe("Bearer t");
    expect(sent[0].body?.get("name")).toBe("bad");
    expect(JSON.parse(String(sent[0].body?.get("options")))).toMatchObject({ dedup_exact: true, near_dup_threshold: null });
    expect(requestsTo(fetchMock, "/api/projects/3/jobs/31").length).toBe(2);
  });

  it("shows the API's 422 message when the upload is refused", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/prompt-sets");
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/prompt-sets": () => jsonResponse([]),
    });
    fakeXhr(() => ({
      status: 422,
      body: {
        error: {
          code: "validation_error",
          message: "options is invalid: body.options.eval_ratio: Input should be less than 1",
          fields: [{ path: "body.options.eval_ratio", message: "Input should be less than 1" }],
        },
      },
    }));
    renderWithClient(<App />);
    const u = userEvent.setup();
    await u.upload(await screen.findByTestId("upload-file"), new File(["{}"], "x.jsonl"));
    await u.click(screen.getByTestId("upload-submit"));
    expect(await screen.findByTestId("upload-error")).toHaveTextContent("eval_ratio");
    expect(screen.getByText("Input should be less than 1")).toHaveClass("field-error");
  });

  it("pages through the preview and shows statistics and lineage", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/prompt-sets/8");
    const child = pset({ id: 8, version: 2, parent_id: 7, source: "gsm8k v1" });
    const prompt = (i: number) => ({
      id: 100 + i, position: i + 1, text: `prompt ${i}`, system: null, messages: null, reference: String(i), meta: {}, split: "train",
    });
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/prompt-sets": () => jsonResponse([child, pset()]),
      "GET /api/projects/3/prompt-sets/8": () => jsonResponse(child),
      "GET /api/projects/3/prompt-sets/8/prompts": (r) => {
        const cursor = new URL(r.url).searchParams.get("cursor");
        return cursor === "c2"
          ? jsonResponse({ items: [prompt(20)], next_cursor: null })
          : jsonResponse({ items: Array.from({ length: 20 }, (_, i) => prompt(i)), next_cursor: "c2" });
      },
    });
    renderWithClient(<App />);
    const u = userEvent.setup();
    expect(await screen.findByTestId("prompt-set-name")).toHaveTextContent("gsm8k v2");
    expect(await screen.findAllByTestId("prompt")).toHaveLength(20);
    // a prompt's position is its file's 1-based line (backend/prompts/readers.py): shown as it is
    expect(screen.getAllByTestId("prompt")[0]).toHaveTextContent(/^line 1 · train/);
    expect(screen.getAllByTestId("prompt")[19]).toHaveTextContent(/^line 20 · train/);
    await u.click(screen.getByTestId("preview-next"));
    await waitFor(() => expect(screen.getAllByTestId("prompt")).toHaveLength(1));
    expect(screen.getByTestId("preview-range")).toHaveTextContent("21–21");
    expect(new URL(requestsTo(fetchMock, "/api/projects/3/prompt-sets/8/prompts").at(-1)!.url).searchParams.get("cursor")).toBe("c2");
    await u.click(screen.getByTestId("preview-prev"));
    await waitFor(() => expect(screen.getAllByTestId("prompt")).toHaveLength(20));

    await u.click(screen.getByTestId("tab-stats"));
    await waitFor(() => expect(window.location.search).toBe("?tab=stats"));
    const stats = await screen.findByTestId("prompt-set-stats");
    expect(within(stats).getByTestId("removed-exact_duplicate")).toHaveTextContent("3");
    expect(within(stats).getByTestId("removed-contaminated")).toHaveTextContent("1");
    expect(within(stats).getByTestId("references-summary")).toHaveTextContent("2 do not parse");
    expect(within(stats).getByTestId("unparseable-examples")).toHaveTextContent("line 4: about 7");

    await u.click(screen.getByTestId("tab-versions"));
    const lineage = await screen.findByTestId("lineage");
    expect(lineage).toHaveTextContent("gsm8k v1 → gsm8k v2");
    expect(screen.getAllByTestId("version-row")).toHaveLength(2);
    expect(screen.getByTestId("derive-form")).toBeInTheDocument();
  });

  it("fills in the stats a version lacks and turns numpy's histogram into bins", () => {
    expect(readStats({}).chars).toBeNull();
    expect(readStats({}).removed).toEqual({});
    expect(readStats({ removed: { exact_duplicate: 2 }, splits: null }).removed).toEqual({ exact_duplicate: 2 });
    expect(histogramBins({ edges: [0, 10, 20], counts: [4, 6] })).toEqual([
      { label: "0–10", from: 0, to: 10, count: 4 },
      { label: "10–20", from: 10, to: 20, count: 6 },
    ]);
    expect(histogramBins({ edges: [0], counts: [4] })).toEqual([]);
    expect(histogramBins({ edges: [16, 16.1, 16.2], counts: [1, 2] }).map((b) => b.label)).toEqual(["16–16.1", "16.1–16.2"]);
  });

  it("derives a cleaner version with the chosen settings and links to it when the job is done", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/prompt-sets/7?tab=versions");
    const derived = pset({ id: 9, version: 2, parent_id: 7, source: "gsm8k v1", prompt_count: 40 });
    let done = false;
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/prompt-sets": () => jsonResponse(done ? [derived, pset()] : [pset()]),
      "GET /api/projects/3/prompt-sets/7": () => jsonResponse(pset()),
      "POST /api/projects/3/prompt-sets/7/versions": () => jsonResponse(job({ id: 40, kind: "prompt_derive", status: "queued" }), 202),
      "GET /api/projects/3/jobs/40": () => {
        done = true;
        return jsonResponse(
          job({ id: 40, kind: "prompt_derive", status: "succeeded", progress_done: 45, progress_total: 45, result: { prompt_set: derived } }),
        );
      },
    });
    renderWithClient(<App />);
    const u = userEvent.setup();
    const form = await screen.findByTestId("derive-form");
    // Starts from the cleaning the source was made with (eval_ratio 0.1 in its stats).
    expect(within(form).getByTestId("clean-eval-ratio")).toHaveValue(0.1);
    await u.clear(within(form).getByTestId("clean-eval-ratio"));
    await u.type(within(form).getByTestId("clean-eval-ratio"), "0.2");
    await u.click(within(form).getByTestId("derive-submit"));
    expect(await within(form).findByTestId("derived")).toHaveTextContent("Created gsm8k v2 with 40 prompts");
    const body = await requestsTo(fetchMock, "/api/projects/3/prompt-sets/7/versions")[0].clone().json();
    expect(body).toMatchObject({ eval_ratio: 0.2, dedup_exact: true, near_dup_threshold: 0.8 });
    // The list refreshed: the new version is a child in the lineage.
    await waitFor(() => expect(screen.getByTestId("lineage")).toHaveTextContent("gsm8k v1 → gsm8k v2"));
  });
});
