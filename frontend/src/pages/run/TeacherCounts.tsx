import { useQuery } from "@tanstack/react-query";
import type { RunSummary, Schemas } from "../../api/client";
import { teachersQuery } from "../../api/queries";
import { formatNumber } from "../../lib/format";

type Taught = Schemas["TaughtCount"];

/** Attempts per teacher of a rollout whose prompts were routed to several teachers (rollout.teachers);
 * nothing for a rollout with one teacher. Names come from the project's teachers (a deleted one says so). */
export function RolloutTeachers({ projectId, summary }: { projectId: number; summary: RunSummary }) {
  const counts = summary.rollout?.teachers ?? {};
  const routed = Object.keys(counts).length > 1;
  const teachers = useQuery({ ...teachersQuery(projectId), enabled: routed });
  if (!routed) return null;
  const name = (id: number) => teachers.data?.find((t) => t.id === id)?.name ?? `teacher ${id}`;
  return (
    <table className="table compact" data-testid="rollout-teachers">
      <caption>Attempts per teacher (routed by prompt)</caption>
      <thead>
        <tr>
          <th>teacher</th>
          <th>attempts</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(counts).map(([id, n]) => (
          <tr key={id} data-testid="rollout-teacher-row" data-teacher={id}>
            <td>{name(Number(id))}</td>
            <td>{formatNumber(n)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Which teacher taught which prompts of a snapshot: its prompts and rows each (the files' teacher_id). */
export function SnapshotTeachers({ teachers }: { teachers: Taught[] }) {
  if (teachers.length < 2) return null;
  return (
    <table className="table compact" data-testid="snapshot-teachers">
      <caption>Taught by</caption>
      <thead>
        <tr>
          <th>teacher</th>
          <th>prompts</th>
          <th>rows</th>
        </tr>
      </thead>
      <tbody>
        {teachers.map((t) => (
          <tr key={t.teacher_id ?? "deleted"} data-testid="snapshot-teacher-row" data-teacher={t.teacher_id ?? ""}>
            <td>{t.name ?? "(deleted teacher)"}</td>
            <td>{formatNumber(t.prompts)}</td>
            <td>{formatNumber(t.rows)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
