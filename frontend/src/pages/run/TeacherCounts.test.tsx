import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "../../api/client";
import { jsonResponse, mockApi, renderWithClient } from "../../test/helpers";
import { RolloutTeachers, SnapshotTeachers } from "./TeacherCounts";

const teacher = (id: number, name: string) => ({ id, name, backend: "openai_compat", model: name });

describe("counts per teacher (rollout.teachers)", () => {
  it("names each routed teacher of the rollout with its attempts", async () => {
    mockApi({ "GET /api/projects/3/teachers": () => jsonResponse([teacher(1, "alpha"), teacher(2, "beta")]) });
    const summary = { rollout: { teachers: { "1": 12, "2": 16 } } } as unknown as RunSummary;
    renderWithClient(<RolloutTeachers projectId={3} summary={summary} />);
    const table = await screen.findByTestId("rollout-teachers");
    const rows = within(table).getAllByTestId("rollout-teacher-row");
    expect(rows.map((r) => r.getAttribute("data-teacher"))).toEqual(["1", "2"]);
    expect(await within(rows[1]).findByText("beta")).toBeInTheDocument();
    expect(rows[1]).toHaveTextContent("16");
    expect(rows[0]).toHaveTextContent("12");
  });

  it("shows nothing for a rollout with one teacher", () => {
    const fetchMock = mockApi({});
    const summary = { rollout: { teachers: { "1": 12 } } } as unknown as RunSummary;
    renderWithClient(<RolloutTeachers projectId={3} summary={summary} />);
    expect(screen.queryByTestId("rollout-teachers")).toBeNull();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("lists the snapshot's prompts and rows per teacher, a deleted one said so", () => {
    renderWithClient(
      <SnapshotTeachers
        teachers={[
          { teacher_id: 2, name: "beta", model: "beta", prompts: 8, rows: 16 },
          { teacher_id: null, name: null, model: null, prompts: 6, rows: 12 },
        ]}
      />,
    );
    const rows = screen.getAllByTestId("snapshot-teacher-row");
    expect(rows[0]).toHaveTextContent("beta816");
    expect(rows[1]).toHaveTextContent("(deleted teacher)612");
  });
});
