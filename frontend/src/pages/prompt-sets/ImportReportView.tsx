import type { ImportReport } from "../../lib/jobs";
import { formatNumber } from "../../lib/format";
import { REMOVED_LABELS } from "../../lib/promptStats";

/** What an import found: counts, the bad rows with their line and reason, and what cleaning removed. */
export function ImportReportView({ report }: { report: ImportReport }) {
  const removed = Object.entries(report.removed ?? {}).filter(([, n]) => n > 0);
  const reasons = Object.entries(report.reasons);
  return (
    <div className="import-report" data-testid="import-report">
      <dl className="facts">
        <dt>Rows read</dt>
        <dd data-testid="report-rows-read">{formatNumber(report.rows_read)}</dd>
        <dt>Stored</dt>
        <dd data-testid="report-rows-stored">{formatNumber(report.rows_stored)}</dd>
        <dt>Rejected</dt>
        <dd data-testid="report-rows-rejected">{formatNumber(report.rows_rejected)}</dd>
        {removed.map(([reason, n]) => (
          <div key={reason} className="facts-row">
            <dt>Removed: {REMOVED_LABELS[reason] ?? reason}</dt>
            <dd>{formatNumber(n)}</dd>
          </div>
        ))}
      </dl>
      {reasons.length > 0 && (
        <p className="muted small">
          Rejected per reason: {reasons.map(([r, n]) => `${r} ${formatNumber(n)}`).join(", ")}
        </p>
      )}
      {report.errors.length > 0 && (
        <>
          <h3>Bad rows{report.errors.length < report.rows_rejected ? ` (first ${report.errors.length})` : ""}</h3>
          <table className="table compact" data-testid="bad-rows">
            <thead>
              <tr>
                <th>Line</th>
                <th>Field</th>
                <th>Reason</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((e, i) => (
                <tr key={i} data-testid="bad-row" data-row={e.row}>
                  <td>{e.row}</td>
                  <td>{e.field ?? "—"}</td>
                  <td>
                    <code>{e.reason}</code>
                  </td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {(report.removed_examples ?? []).length > 0 && <RemovedExamples rows={report.removed_examples ?? []} />}
    </div>
  );
}

export function RemovedExamples({ rows }: { rows: NonNullable<ImportReport["removed_examples"]> }) {
  return (
    <>
      <h3>Removed rows (examples)</h3>
      <table className="table compact" data-testid="removed-rows">
        <thead>
          <tr>
            <th>Line</th>
            <th>Why</th>
            <th>Text</th>
            <th>Matched</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>{r.row}</td>
              <td>{r.reason}</td>
              <td className="clip">{r.text}</td>
              <td className="clip">
                {r.reason === "contaminated" ? "eval item " : "line "}
                {r.matched}
                {r.matched_text ? `: ${r.matched_text}` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
