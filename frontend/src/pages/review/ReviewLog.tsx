import { Fragment, useState } from "react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { errorMessage } from "../../api/errors";
import { formatTime } from "../../lib/format";
import { EditDiff } from "./ReviewItem";
import { EditVerdict, editVerdictOf } from "../../components/EditVerdict";
import { membersQuery, reviewLogQuery } from "../../api/queries";

const PAGE = 100;

/** The run's audit log: every decision (undo included), oldest first, with edits shown beside the
 * original. What viewers read; reviewers see everyone's work here. */
export function ReviewLog({ projectId, runId, refreshKey }: { projectId: number; runId: number; refreshKey: number }) {
  const [open, setOpen] = useState<number | null>(null);
  const members = useQuery(membersQuery(projectId));
  const log = useInfiniteQuery({
    ...reviewLogQuery(projectId, runId, refreshKey, PAGE),
    // an edit's verdict arrives from a worker: look again while one is being verified
    refetchInterval: (q) =>
      (q.state.data?.pages ?? []).some((page) => page.some((d) => !d.undone && editVerdictOf(d.after)?.status === "pending"))
        ? 2000
        : false,
  });
  const rows = log.data?.pages.flat() ?? [];
  const name = (id: number | null) => {
    if (id === null) return "–";
    const m = members.data?.find((x) => x.user_id === id);
    return m ? m.name || m.email : `user ${id}`;
  };
  return (
    <div className="card" data-testid="review-log">
      <h2>Decisions</h2>
      {log.isError && (
        <p className="error" role="alert">
          {errorMessage(log.error)}
        </p>
      )}
      {rows.length === 0 && !log.isPending ? (
        <p className="muted">No decision yet.</p>
      ) : (
        <table className="table compact">
          <thead>
            <tr>
              <th>When</th>
              <th>Reviewer</th>
              <th>Attempt</th>
              <th>Decision</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <Fragment key={d.id}>
                <tr data-testid="review-log-row" className={d.undone ? "review-undone" : ""}>
                  <td className="nowrap">{formatTime(d.created_at)}</td>
                  <td>{name(d.reviewer_id)}</td>
                  <td>
                    <Link
                      to="/projects/$projectId/runs/$runId/samples/$generationId"
                      params={{ projectId, runId, generationId: d.generation_id }}
                    >
                      #{d.generation_id}
                    </Link>
                  </td>
                  <td>
                    <span className={`verdict verdict-${d.decision}`}>{d.decision}</span>
                    {d.undone && <span className="muted small"> (undone)</span>}
                    {d.decision === "edit" && !d.undone && (
                      <>
                        {" "}
                        <EditVerdict after={d.after} />
                      </>
                    )}
                    {d.decision === "edit" && d.before && d.after && (
                      <>
                        {" "}
                        <button type="button" className="link-like small" onClick={() => setOpen(open === d.id ? null : d.id)}>
                          {open === d.id ? "hide" : "show both"}
                        </button>
                      </>
                    )}
                  </td>
                  <td className="small muted">{d.note}</td>
                </tr>
                {open === d.id && d.before && d.after && (
                  <tr>
                    <td colSpan={5}>
                      <EditDiff before={d.before} after={d.after} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {log.hasNextPage && (
        <button type="button" className="secondary" disabled={log.isFetchingNextPage} onClick={() => log.fetchNextPage()}>
          {log.isFetchingNextPage ? "Loading…" : "More"}
        </button>
      )}
    </div>
  );
}
