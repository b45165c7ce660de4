import type { Mapping, Peek, Role } from "./columns";
import { ROLES } from "./columns";

const LABELS: Record<Role, { label: string; help: string }> = {
  prompt: { label: "Prompt", help: "the prompt text, or chat messages" },
  tests: { label: "Tests", help: "for the code verifier: stdin/stdout pairs, asserts, or test code" },
  reference: { label: "Reference", help: "the answer the math and exact verifiers compare with" },
  entry_point: { label: "Entry point", help: "the function the tests' check(candidate) is called with" },
  id: { label: "Id", help: "the row's own id, kept as meta.id" },
};
const SAMPLE_ROWS = 3;
const SAMPLE_CHARS = 90;

function sample(v: unknown): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > SAMPLE_CHARS ? `${flat.slice(0, SAMPLE_CHARS)}…` : flat;
}

/**
 * The upload's column-mapping step: which column is the prompt, the tests, the reference, the entry
 * point and the id, filled in with what the import would pick itself, and the first rows as the choice
 * reads them. Without columns (Parquet, archives) it says the server recognises them.
 */
export function ColumnMappingFields({
  peek,
  reading,
  error,
  value,
  suggested,
  onChange,
}: {
  peek: Peek | null;
  reading: boolean;
  error: string | null;
  value: Mapping;
  suggested: Mapping;
  onChange: (m: Mapping) => void;
}) {
  if (reading) {
    return (
      <fieldset className="cleaning column-mapping" data-testid="column-mapping">
        <legend>Columns</legend>
        <p className="muted small">Reading the first rows…</p>
      </fieldset>
    );
  }
  if (!peek || error) {
    return (
      <fieldset className="cleaning column-mapping" data-testid="column-mapping">
        <legend>Columns</legend>
        <p className="muted small" data-testid="column-mapping-auto">
          {error ? `The first rows could not be read here (${error}); ` : "Columns of Parquet files and archives are "}
          recognised on the server: prompt, question or problem; answer or solution as the reference; tests (or
          HumanEval&apos;s test with entry_point).
        </p>
      </fieldset>
    );
  }
  const set = (role: Role, column: string) => onChange({ ...value, [role]: column });
  const chosen = ROLES.filter((r) => value[r]);
  return (
    <fieldset className="cleaning column-mapping" data-testid="column-mapping">
      <legend>Columns</legend>
      <p className="muted small">
        {peek.rows.length} row{peek.rows.length === 1 ? "" : "s"} read from the start of the file: {peek.columns.length} column
        {peek.columns.length === 1 ? "" : "s"}. Columns not chosen here are kept as metadata.
      </p>
      <div className="form-grid">
        {ROLES.map((role) => (
          <label key={role} title={LABELS[role].help}>
            {LABELS[role].label}
            <select value={value[role]} onChange={(e) => set(role, e.target.value)} data-testid={`map-${role}`}>
              <option value="">{role === "prompt" ? "choose a column" : "none"}</option>
              {peek.columns.map((c) => (
                <option key={c} value={c}>
                  {c}
                  {c === suggested[role] ? " (recognised)" : ""}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {!value.prompt && (
        <p className="field-error" data-testid="map-no-prompt">
          No column looks like the prompt: choose one.
        </p>
      )}
      {value.entry_point && !value.tests && (
        <p className="muted small">An entry point without tests is only kept as metadata.</p>
      )}
      {value.tests && value.entry_point && (
        <p className="muted small" data-testid="map-check-note">
          Test code with an entry point is stored as <code>{'{"check": <test code>, "entry_point": <name>}'}</code> and run
          as <code>check(&lt;name&gt;)</code>.
        </p>
      )}
      {chosen.length > 0 && peek.rows.length > 0 && (
        <table className="table compact mapping-sample" data-testid="mapping-sample">
          <thead>
            <tr>
              {chosen.map((r) => (
                <th key={r}>
                  {LABELS[r].label} <span className="muted">({value[r]})</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {peek.rows.slice(0, SAMPLE_ROWS).map((row, i) => (
              <tr key={i}>
                {chosen.map((r) => (
                  <td key={r}>
                    <code>{sample(row[value[r]])}</code>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </fieldset>
  );
}
