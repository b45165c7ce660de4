import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../../test/helpers";
import { JudgePage } from "./JudgePage";

const rubric = (version: number, note = "") => ({
  id: version,
  project_id: 1,
  version,
  template: "Q: {question}\nA: {answer}",
  scale: "score",
  scale_min: 1,
  scale_max: 5,
  pass_score: 5,
  note,
  created_at: "2026-01-01T00:00:00",
});

const agreement = (threshold: number, precision: number) => ({
  threshold,
  labels: 40,
  accuracy: 0.85,
  kappa: 0.7,
  precision,
  precision_ci95: [0.85, 1.0],
  recall: 0.79,
  recall_ci95: [0.62, 0.93],
  confusion: { true_accept: 19, false_accept: 1, false_reject: 5, true_reject: 15 },
});

const calibrated = {
  rubric_version: 2,
  status: "calibrated",
  message: "",
  target_precision: 0.95,
  labels: 40,
  min_labels: 30,
  at_pass_score: agreement(5, 0.95),
  at_accept_threshold: agreement(5, 0.95),
  thresholds: { accept: 5, reject: 3 },
  coverage: 0.75,
  basis: {
    random: 40,
    picked: 48,
    by_reason: { audit: 40, disagreement: 48 },
    text: "figures rest on 40 labels from a random audit sample; 48 labels from disagreements are not counted because they were picked",
  },
  picked: { ...agreement(5, 0), labels: 48, accuracy: 0, kappa: -0.8 },
  curve: [
    { threshold: 1, accepted: 40, precision: 0.6, recall: 1, coverage: 1 },
    { threshold: 3, accepted: 30, precision: 0.8, recall: 1, coverage: 0.75 },
    { threshold: 5, accepted: 20, precision: 0.95, recall: 0.79, coverage: 0.5 },
  ],
};

const tooFew = {
  ...calibrated,
  rubric_version: 1,
  status: "too_few_labels",
  message: "5 random human labels (the review's audit sample, imports); calibration needs 30: 25 more.",
  labels: 5,
  basis: { random: 5, picked: 0, by_reason: { audit: 5 }, text: "figures rest on 5 labels from a random audit sample" },
  picked: null,
  at_accept_threshold: null,
  thresholds: null,
  coverage: null,
};

function routes(role: string) {
  const created: unknown[] = [];
  const fetchMock = mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", description: "", created_at: "2026-01-01", role }),
    "GET /api/projects/1/rubrics": () => jsonResponse([rubric(2, "stricter"), rubric(1)]),
    "GET /api/projects/1/rubrics/2/calibration": () => jsonResponse(calibrated),
    "GET /api/projects/1/rubrics/1/calibration": () => jsonResponse(tooFew),
    "POST /api/projects/1/rubrics": async (r) => {
      const body = await r.json();
      if (!String(body.template).includes("{answer}"))
        return jsonResponse(
          { error: { code: "invalid", message: "Request is invalid", fields: [{ path: "body", message: "the template must contain {answer}" }] } },
          422,
        );
      created.push(body);
      return jsonResponse(rubric(3, body.note), 201);
    },
    "POST /api/projects/1/labels/import": async (r) => {
      const form = await r.formData();
      const file = form.get("file") as File;
      const text = await file.text();
      if (text.includes("oops"))
        return jsonResponse({ error: { code: "bad_label", message: "line 2: not JSON (unexpected character)" } }, 422);
      return jsonResponse({ imported: text.trim().split("\n").length });
    },
  });
  return { fetchMock, created };
}

describe("JudgePage", () => {
  it("shows a calibrated version: kappa, intervals, confusion, thresholds, coverage and the curve", async () => {
    routes("viewer");
    renderWithClient(<JudgePage projectId={1} />);
    const cal = await screen.findByTestId("calibration");
    expect(cal).toHaveAttribute("data-status", "calibrated");
    expect(screen.getByTestId("at-threshold-kappa")).toHaveTextContent("0.700");
    expect(screen.getByTestId("at-threshold-precision")).toHaveTextContent("95.0% 85.0% – 100.0%");
    const confusion = within(screen.getByTestId("at-threshold-confusion"));
    expect(confusion.getByText("19")).toBeInTheDocument();
    expect(confusion.getByText("15")).toBeInTheDocument();
    expect(screen.getByTestId("calibration-thresholds")).toHaveTextContent("accept at score ≥ 5, reject below 3");
    expect(screen.getByTestId("calibration-coverage")).toHaveTextContent("75.0%");
    expect(screen.getByTestId("calibration-curve")).toBeInTheDocument();
    // what the figures rest on, in words; the picked labels apart, never as the headline
    expect(screen.getByTestId("calibration-basis")).toHaveTextContent(
      "Figures rest on 40 labels from a random audit sample; 48 labels from disagreements are not counted because they were picked.",
    );
    expect(screen.getByTestId("at-pass-accuracy")).toHaveTextContent("85.0%");
    expect(within(screen.getByTestId("calibration-picked")).getByTestId("picked-kappa")).toHaveTextContent("-0.800");
    expect(screen.getByTestId("calibration-picked")).toHaveTextContent("Picked labels only (48)");
    // viewers cannot create versions or import labels
    expect(screen.queryByTestId("rubric-new")).not.toBeInTheDocument();
    expect(screen.queryByTestId("label-import")).not.toBeInTheDocument();
  });

  it("says when there are too few labels, per version", async () => {
    routes("viewer");
    renderWithClient(<JudgePage projectId={1} />);
    await screen.findByTestId("calibration");
    await userEvent.click(screen.getAllByTestId("rubric-version")[1]);
    await waitFor(() => expect(screen.getByTestId("calibration")).toHaveAttribute("data-status", "too_few_labels"));
    expect(screen.getByTestId("calibration-message")).toHaveTextContent("5 random human labels");
    expect(screen.getByTestId("calibration-message")).toHaveTextContent("calibration needs 30: 25 more");
    expect(screen.getByTestId("calibration-basis")).toHaveTextContent("Figures rest on 5 labels from a random audit sample.");
    expect(screen.queryByTestId("calibration-picked")).not.toBeInTheDocument();
    expect(screen.queryByTestId("calibration-thresholds")).not.toBeInTheDocument();
  });

  it("asks again with another target precision", async () => {
    const { fetchMock } = routes("viewer");
    renderWithClient(<JudgePage projectId={1} />);
    await screen.findByTestId("calibration");
    await userEvent.selectOptions(screen.getByTestId("calibration-target"), "0.9");
    await waitFor(() => {
      const urls = requestsTo(fetchMock, "/api/projects/1/rubrics/2/calibration").map((r) => new URL(r.url));
      expect(urls.some((u) => u.searchParams.get("target_precision") === "0.9")).toBe(true);
    });
  });

  it("creates a rubric version and shows the API's 422", async () => {
    const { created } = routes("maintainer");
    renderWithClient(<JudgePage projectId={1} />);
    await userEvent.click(await screen.findByTestId("rubric-new"));
    const template = screen.getByTestId("rubric-template");
    expect(template).toHaveValue("Q: {question}\nA: {answer}"); // starts from the selected version
    fireEvent.change(template, { target: { value: "no placeholder" } });
    await userEvent.click(screen.getByTestId("rubric-save"));
    expect(await screen.findByTestId("rubric-error")).toHaveTextContent("the template must contain {answer}");
    fireEvent.change(template, { target: { value: "Q: {question} A: {answer}" } });
    fireEvent.change(screen.getByTestId("rubric-note"), { target: { value: "v3" } });
    await userEvent.click(screen.getByTestId("rubric-save"));
    await waitFor(() => expect(screen.queryByTestId("rubric-form")).not.toBeInTheDocument());
    expect(created).toEqual([expect.objectContaining({ template: "Q: {question} A: {answer}", note: "v3", scale: "score" })]);
  });

  it("imports labels and reports a bad line", async () => {
    routes("maintainer");
    renderWithClient(<JudgePage projectId={1} />);
    const input = (await screen.findByTestId("label-file")) as HTMLInputElement;
    const bad = new File(['{"generation_id": 1, "label": "accept"}\noops\n'], "labels.jsonl", { type: "application/json" });
    await userEvent.upload(input, bad);
    expect(await screen.findByTestId("label-error")).toHaveTextContent("labels.jsonl: line 2: not JSON");
    const good = new File(["generation_id,label\n1,accept\n2,reject\n"], "labels.csv", { type: "text/csv" });
    await userEvent.upload(input, good);
    expect(await screen.findByTestId("label-result")).toHaveTextContent("Imported 3 labels from labels.csv");
  });
});
