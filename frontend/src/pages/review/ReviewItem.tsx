import type { Schemas } from "../../api/client";
import { Markdown } from "../samples/Markdown";
import { Reasoning } from "../samples/Reasoning";

export type Item = Schemas["ItemOut"];
export type Decision = Schemas["DecisionOut"];
/** A verifier's or the judge's verdict on the attempt (verifier, version, status, passed, score, detail). */
export type Verdict = Schemas["ItemVerdict"];

export function verdictsOf(item: Item): Verdict[] {
  return item.verdicts;
}

/** Why the queue holds an item, in words. */
export const REASONS: Record<string, string> = {
  disagreement: "the judge and a verifier disagree",
  audit: "a random audit sample of all attempts, to measure the judge and the verifiers",
  judge_unsure: "the judge was unsure (score between the thresholds or near accept)",
  judge_unparseable: "the judge's reply had no score",
  reference_unparseable: "the reference does not parse, so no verifier could decide",
  judge_rejected: "the judge rejected it and no verifier disputes it",
  sampled_accept: "a sample of accepted attempts, to keep measuring precision",
};

export function reasonText(reason: string): string {
  return REASONS[reason] ?? reason.replace(/_/g, " ");
}

function verdictWord(v: Verdict): string {
  if (v.passed === true) return "pass";
  if (v.passed === false) return "fail";
  return v.status;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.trim() ? v : null;
}

/** The judge's verdict and every verifier's, with the disagreement between them called out. */
/** The admission rules' reasons (backend/datasets/admission.py), in words. */
const NOT_ADMISSIBLE: Record<string, string> = {
  truncated: "the teacher stopped at max_tokens",
  empty: "no answer at all",
  no_answer: "reasoning with no answer after it",
};

export function WhyPanel({ item }: { item: Item }) {
  const all = verdictsOf(item);
  const judge = all.find((v) => v.verifier === "judge");
  const verifiers = all.filter((v) => v.verifier !== "judge");
  const thresholds = judge?.detail?.thresholds as { accept?: number; reject?: number } | undefined;
  const disagree =
    judge?.passed != null && verifiers.some((v) => v.passed != null && v.passed !== judge.passed);
  return (
    <section className="review-why" data-testid="review-why" aria-label="Why this item is here">
      <p className="review-reason">
        <span className={`badge badge-reason reason-${item.reason}`} data-testid="review-reason">
          {item.reason.replace(/_/g, " ")}
        </span>{" "}
        <span className="muted">{reasonText(item.reason)}</span>
      </p>
      {item.not_admissible && (
        <p className="warn" data-testid="review-not-admissible">
          This attempt can never be admitted into a snapshot ({item.not_admissible.replace(/_/g, " ")}
          {NOT_ADMISSIBLE[item.not_admissible] ? `: ${NOT_ADMISSIBLE[item.not_admissible]}` : ""}), so it cannot be
          accepted: reject it{item.not_admissible === "truncated" ? "" : ", or edit it into a whole answer"}.
        </p>
      )}
      {judge ? (
        <div className="review-judge" data-testid="review-judge">
          <div className="review-judge-head">
            <strong>Judge</strong>
            <span className={`verdict verdict-${verdictWord(judge)}`}>{verdictWord(judge)}</span>
            <span data-testid="review-judge-score">
              score {judge.score ?? "none"}
              {thresholds?.accept != null && (
                <span className="muted">
                  {" "}
                  (accept ≥ {thresholds.accept}, reject &lt; {thresholds.reject ?? thresholds.accept})
                </span>
              )}
            </span>
          </div>
          <p className="review-rationale" data-testid="review-rationale">
            {str(judge.detail?.rationale) ?? <span className="muted">no rationale given</span>}
          </p>
        </div>
      ) : (
        <p className="muted">No judge verdict on this attempt.</p>
      )}
      {verifiers.length > 0 && (
        <table className="table compact review-verifiers">
          <thead>
            <tr>
              <th>Verifier</th>
              <th>Verdict</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {verifiers.map((v, i) => (
              <tr key={`${v.verifier}-${i}`} data-testid="review-verifier">
                <td>{v.verifier}</td>
                <td>
                  <span className={`verdict verdict-${verdictWord(v)}`}>{verdictWord(v)}</span>
                </td>
                <td className="small muted review-detail">{detailText(v.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {disagree && (
        <p className="review-disagree" data-testid="review-disagree">
          The judge says {judge?.passed ? "pass" : "fail"}; a verifier says {judge?.passed ? "fail" : "pass"}.
        </p>
      )}
    </section>
  );
}

function detailText(detail: Record<string, unknown> | null | undefined): string {
  if (!detail) return "";
  const parts = Object.entries(detail)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  const text = parts.join("; ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function promptText(item: Item): string {
  return item.prompt
    .map((m) => {
      const role = typeof m.role === "string" ? m.role : "";
      const content = typeof m.content === "string" ? m.content : JSON.stringify(m.content);
      return item.prompt.length > 1 ? `[${role}] ${content}` : content;
    })
    .join("\n\n");
}

/** The attempt under review: prompt, answer beside the reference (Markdown and LaTeX rendered), and
 * the reasoning (collapsed; virtualised when expanded, so long traces stay fast). */
export function AttemptView({ item }: { item: Item }) {
  return (
    <section className="review-attempt" data-testid="review-attempt" data-generation-id={item.generation_id}>
      <div className="review-answer-row">
        <div>
          <h3>Answer</h3>
          <div className="review-text review-answer" data-testid="review-content">
            {item.content ? <Markdown text={item.content} /> : "(no answer)"}
          </div>
        </div>
        <div>
          <h3>Reference</h3>
          <div className="review-text" data-testid="review-reference">
            {item.reference ? <Markdown text={item.reference} /> : "(none)"}
          </div>
        </div>
      </div>
      <h3>Prompt</h3>
      <div className="review-text" data-testid="review-prompt">
        <Markdown text={promptText(item)} />
      </div>
      {item.reasoning ? <Reasoning text={item.reasoning} /> : null}
    </section>
  );
}

/** The original beside the edited text of an edit decision. */
export function EditDiff({ before, after }: { before: Record<string, unknown>; after: Record<string, unknown> }) {
  const fields = ["content", "reasoning"].filter((f) => (before[f] ?? null) !== (after[f] ?? null));
  return (
    <div className="review-diff" data-testid="review-diff">
      {(fields.length ? fields : ["content"]).map((f) => (
        <div key={f} className="review-diff-row">
          <div>
            <h4>Original {f}</h4>
            <pre className="review-text review-before" data-testid={`review-before-${f}`}>
              {String(before[f] ?? "")}
            </pre>
          </div>
          <div>
            <h4>Edited {f}</h4>
            <pre className="review-text review-after" data-testid={`review-after-${f}`}>
              {String(after[f] ?? "")}
            </pre>
          </div>
        </div>
      ))}
    </div>
  );
}
