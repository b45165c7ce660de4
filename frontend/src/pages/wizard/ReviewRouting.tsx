import type { Schemas } from "../../api/client";
import { formatNumber } from "../../lib/format";
import { Check, NumField } from "./Fields";
import { ROUTED, type ReviewState, type RouteRule, type Routed } from "./recipe";

/** What each reason sends to people, in words (backend/reviews/routing.py). */
export const ROUTE_TEXT: Record<Routed | "audit", string> = {
  disagreement: "A verifier and the judge disagree",
  audit: "Random audit of all attempts (the labels calibration counts)",
  judge_unsure: "The judge is unsure (between its thresholds, or near accept) and no verifier decided",
  judge_unparseable: "The judge's reply had no score and no verifier decided",
  reference_unparseable: "The reference does not parse, so no verifier could decide",
  judge_rejected: "The judge rejected it and no verifier disputes it (both reject: usually nobody needs to look)",
};

/**
 * The review stage's routing: per reason a switch and its caps (at most N items, at most a share of the
 * attempts), the audit's shares and caps, and how near the accept threshold counts as unsure.
 */
export function ReviewRouting({ value, onChange }: { value: ReviewState; onChange: (v: ReviewState) => void }) {
  const setRule = (why: Routed, patch: Partial<RouteRule>) =>
    onChange({ ...value, rules: { ...value.rules, [why]: { ...value.rules[why], ...patch } } });
  const a = value.audit;
  const setAudit = (patch: Partial<ReviewState["audit"]>) => onChange({ ...value, audit: { ...a, ...patch } });
  return (
    <div className="review-routing" data-testid="review-routing">
      <p className="muted small">People get only what only people can settle, and a random audit; each reason is capped.</p>
      <h4>{ROUTE_TEXT.audit}</h4>
      <div className="form-grid">
        <NumField label="Share of attempts (judge calibrated)" path="review.audit.share" value={a.share} min={0} max={1} step={0.01} onChange={(v) => setAudit({ share: v ?? 0 })} />
        <NumField
          label="Share while the judge is uncalibrated"
          path="review.audit.uncalibrated_share"
          value={a.uncalibrated_share}
          min={0}
          max={1}
          step={0.01}
          onChange={(v) => setAudit({ uncalibrated_share: v ?? 0 })}
        />
        <NumField label="At most (items)" path="review.audit.max_items" value={a.max_items} nullable min={0} step={1} placeholder="no cap" onChange={(max_items) => setAudit({ max_items })} />
        <NumField label="At most (share of attempts)" path="review.audit.max_share" value={a.max_share} nullable min={0} max={1} step={0.01} placeholder="no cap" onChange={(max_share) => setAudit({ max_share })} />
      </div>
      {ROUTED.map((why) => {
        const r = value.rules[why];
        return (
          <div key={why} className="review-rule">
            <Check label={ROUTE_TEXT[why]} checked={r.route} onChange={(route) => setRule(why, { route })} testId={`field-review.${why}.route`} />
            {r.route && (
              <div className="form-grid">
                <NumField label="At most (items)" path={`review.${why}.max_items`} value={r.max_items} nullable min={0} step={1} placeholder="no cap" onChange={(max_items) => setRule(why, { max_items })} />
                <NumField
                  label="At most (share of attempts)"
                  path={`review.${why}.max_share`}
                  value={r.max_share}
                  nullable
                  min={0}
                  max={1}
                  step={0.01}
                  placeholder="no cap"
                  onChange={(max_share) => setRule(why, { max_share })}
                />
                {why === "judge_unsure" && (
                  <NumField
                    label="Also unsure within this distance of accept"
                    path="review.unsure_margin"
                    value={value.unsure_margin}
                    min={0}
                    step="any"
                    onChange={(v) => onChange({ ...value, unsure_margin: v ?? 0 })}
                  />
                )}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** The estimate's review load: per reason the items expected (the audit's) or the most its caps allow. */
export function ReviewLoadView({ load }: { load: Schemas["ReviewLoad"] }) {
  const on = load.reasons.filter((r) => r.routed);
  return (
    <div data-testid="estimate-review">
      <h4>Review load</h4>
      <p data-testid="estimate-review-total">
        {formatNumber(load.expected)} items for certain (the audit), at most {formatNumber(load.at_most)} in all; ×
        {load.tasks_per_item} slots each with overlap.
      </p>
      <table className="review-load">
        <thead>
          <tr>
            <th>Reason</th>
            <th>Expected</th>
            <th>At most</th>
          </tr>
        </thead>
        <tbody>
          {on.map((r) => (
            <tr key={r.reason} data-testid={`estimate-review-${r.reason}`}>
              <td>{ROUTE_TEXT[r.reason as Routed | "audit"] ?? r.reason}</td>
              <td>{r.expected === null ? "depends on the verdicts" : formatNumber(r.expected)}</td>
              <td>{formatNumber(r.at_most)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {load.reasons.length > on.length && (
        <p className="muted small" data-testid="estimate-review-off">
          Not routed: {load.reasons.filter((r) => !r.routed).map((r) => r.reason.replace(/_/g, " ")).join(", ")}.
        </p>
      )}
      <ul className="muted small">
        {load.basis.map((b, i) => (
          <li key={i}>{b}</li>
        ))}
      </ul>
    </div>
  );
}
