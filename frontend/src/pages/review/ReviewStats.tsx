import { useQuery } from "@tanstack/react-query";
import type { Schemas } from "../../api/client";
import { reasonText } from "./ReviewItem";
import { membersQuery } from "../../api/queries";

type Queue = Schemas["QueueOut"];

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? "–" : v.toFixed(digits);
}

/** Slots by state and reason, and how far reviewers agree (Cohen's kappa per pair, Krippendorff's alpha). */
export function ReviewStats({ queue, projectId }: { queue: Queue; projectId: number }) {
  const members = useQuery(membersQuery(projectId));
  const name = (id: number) => {
    const m = members.data?.find((x) => x.user_id === id);
    return m ? m.name || m.email : `user ${id}`;
  };
  const states = Object.entries(queue.states);
  const reasons = Object.entries(queue.by_reason);
  return (
    <>
      <div className="card" data-testid="review-counts">
        <h2>Queue</h2>
        <dl className="facts">
          {states.length === 0 && <dd className="muted">empty</dd>}
          {states.map(([state, n]) => (
            <FactRow key={state} label={state} value={n} testId={`review-state-${state}`} />
          ))}
        </dl>
        {reasons.length > 0 && (
          <>
            <h3>Why items are here</h3>
            {/* attempts, as the run's review summary counts them; an overlap item's two slots beside */}
            <dl className="facts" data-testid="review-reasons">
              {reasons.map(([reason, n]) => {
                const slots = queue.slots_by_reason?.[reason];
                return (
                  <FactRow
                    key={reason}
                    label={reason.replace(/_/g, " ")}
                    title={reasonText(reason)}
                    value={n}
                    unit="attempts"
                    extra={slots !== undefined && slots !== n ? `${slots.toLocaleString()} slots` : undefined}
                    testId={`review-reason-${reason}`}
                  />
                );
              })}
            </dl>
          </>
        )}
      </div>
      <div className="card" data-testid="review-agreement">
        <h2>Reviewer agreement</h2>
        <p>
          Krippendorff's alpha: <strong data-testid="review-alpha">{fmt(queue.alpha)}</strong>
          {queue.alpha === null && <span className="muted small"> (needs overlap items decided by two people)</span>}
        </p>
        {queue.pairs.length > 0 && (
          <table className="table compact">
            <thead>
              <tr>
                <th>Pair</th>
                <th>Items</th>
                <th>Kappa</th>
              </tr>
            </thead>
            <tbody>
              {queue.pairs.map((p) => (
                <tr key={p.reviewers.join("-")} data-testid="review-pair">
                  <td>{p.reviewers.map(name).join(" · ")}</td>
                  <td>{p.items}</td>
                  <td>{fmt(p.kappa)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {queue.reviewers.length > 0 && (
          <table className="table compact">
            <thead>
              <tr>
                <th>Reviewer</th>
                <th>Decided</th>
                <th>Overlap</th>
                <th>Agrees</th>
              </tr>
            </thead>
            <tbody>
              {queue.reviewers.map((r) => (
                <tr key={r.reviewer_id} data-testid="review-reviewer">
                  <td>{name(r.reviewer_id)}</td>
                  <td>{r.decided}</td>
                  <td>{r.overlap_items}</td>
                  <td>{r.agreement === null ? "–" : `${Math.round(r.agreement * 100)}%`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}

function FactRow({
  label,
  value,
  title,
  testId,
  unit,
  extra,
}: {
  label: string;
  value: number;
  title?: string;
  testId?: string;
  unit?: string;
  extra?: string;
}) {
  return (
    <>
      <dt title={title}>{label}</dt>
      <dd data-testid={testId}>
        {value.toLocaleString()}
        {unit && ` ${unit}`}
        {extra && <span className="muted small"> ({extra})</span>}
      </dd>
    </>
  );
}
