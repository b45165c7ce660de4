/** The run's verifiers' verdict on a reviewer's edit, as the API stores it in the edit's `after.verdict`
 * (backend/reviews/edits.py): pending until the edit_verify job ran, `error` when the verifier itself
 * failed (checked again by the snapshot, never a verdict on the edit). */
export interface EditVerdictValue {
  status: string;
  passed: boolean | null;
  verifier?: string;
  error?: string;
}

/** The verdict inside an edit's `after`, or null for an edit no verifier checks (a run without a filter). */
export function editVerdictOf(after: Record<string, unknown> | null | undefined): EditVerdictValue | null {
  const v = after?.verdict;
  if (!v || typeof v !== "object" || typeof (v as { status?: unknown }).status !== "string") return null;
  return v as EditVerdictValue;
}

/** What the snapshot will do with the edit, in words, beside the verdict. */
export function editVerdictText(v: EditVerdictValue, override: boolean): string {
  const who = v.verifier ? `${v.verifier}: ` : "";
  if (v.status === "pending") return "verifying the edited text…";
  if (v.status === "error") return `the verifier failed${v.error ? ` (${v.error})` : ""}; the snapshot checks it again`;
  if (v.passed === true) return `${who}${v.status}; admitted`;
  if (v.passed === false)
    return override ? `${who}${v.status}; admitted on the reviewer's override` : `${who}${v.status}; left out of the snapshot`;
  return `${who}${v.status} (undecided); admitted on the reviewer's word`;
}

export function EditVerdict({ after }: { after: Record<string, unknown> | null | undefined }) {
  const v = editVerdictOf(after);
  if (!v) return null;
  const override = after?.override === true;
  const tone = v.passed === true ? "ok" : v.passed === false ? (override ? "neutral" : "bad") : "neutral";
  return (
    <span className="edit-verdict small" data-testid="edit-verdict" data-status={v.status}>
      <span className={`pill ${tone}`}>{v.status === "pending" ? "verifying" : v.status}</span> {editVerdictText(v, override)}
    </span>
  );
}
