import { useState } from "react";
import { Check, FieldError, NumField, SelectField, TextField } from "./Fields";

type Prop = {
  type?: string;
  anyOf?: { type?: string }[];
  enum?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  title?: string;
};

/** A property's JSON-Schema type and whether null is allowed (pydantic writes `X | None` as anyOf). */
export function propType(p: Prop): { type: string; nullable: boolean } {
  if (p.type) return { type: p.type, nullable: false };
  const types = (p.anyOf ?? []).map((a) => a.type ?? "object");
  const nonNull = types.filter((t) => t !== "null");
  return { type: nonNull[0] ?? "object", nullable: types.includes("null") };
}

/**
 * The settings of one verifier, as fields drawn from its JSON Schema (GET .../verifier-kinds). Only values
 * changed from the defaults go into the recipe; objects (a JSON schema to validate against) are edited as JSON.
 */
export function VerifierSettings({
  name,
  index,
  schema,
  value,
  onChange,
}: {
  name: string;
  /** Position among the chosen verifiers: the API's error paths use it. */
  index: number;
  schema: Record<string, unknown>;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
}) {
  const props = (schema.properties ?? {}) as Record<string, Prop>;
  const required = (schema.required ?? []) as string[];
  const entries = Object.entries(props);
  if (entries.length === 0) return null;
  const base = `filter.verifiers.verifiers.${index}.settings`;
  const set = (key: string, v: unknown, dflt: unknown) => {
    const next = { ...value };
    if (v === undefined || JSON.stringify(v) === JSON.stringify(dflt)) delete next[key];
    else next[key] = v;
    onChange(next);
  };
  return (
    <details className="verifier-settings" open={required.length > 0} data-testid={`verifier-settings-${name}`}>
      <summary>
        <code>{name}</code> settings{required.length > 0 ? ` (needs ${required.join(", ")})` : ""}
      </summary>
      <div className="form-grid">
        {entries.map(([key, p]) => {
          const { type, nullable } = propType(p);
          const label = key.replace(/_/g, " ");
          const current = key in value ? value[key] : p.default;
          const path = `${base}.${key}`;
          if (type === "boolean") {
            return <Check key={key} label={label} help={p.description} checked={current === true} onChange={(v) => set(key, v, p.default)} testId={`field-${path}`} />;
          }
          if (type === "integer" || type === "number") {
            return (
              <NumField
                key={key}
                label={label}
                path={path}
                value={typeof current === "number" ? current : null}
                nullable={nullable}
                min={p.minimum}
                max={p.maximum}
                step={type === "integer" ? 1 : "any"}
                onChange={(v) => set(key, v, p.default)}
              />
            );
          }
          if (type === "string" && p.enum) {
            return <SelectField key={key} label={label} path={path} value={String(current ?? p.enum[0])} options={p.enum} onChange={(v) => set(key, v, p.default)} />;
          }
          if (type === "string") {
            return (
              <TextField
                key={key}
                label={label + (required.includes(key) ? " *" : "")}
                path={path}
                value={typeof current === "string" ? current : ""}
                onChange={(v) => set(key, v === "" && !required.includes(key) ? undefined : v, p.default)}
              />
            );
          }
          return <JsonField key={key} label={label} path={path} value={current} onChange={(v) => set(key, v, p.default)} />;
        })}
      </div>
    </details>
  );
}

function JsonField({ label, path, value, onChange }: { label: string; path: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === null || value === undefined ? "" : JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <label className="wide">
      {label} (JSON)
      <textarea
        rows={4}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setError(null);
            onChange(null);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setError(null);
          } catch (err) {
            setError(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
          }
        }}
        data-testid={`field-${path}`}
      />
      {error && <span className="field-error">{error}</span>}
      <FieldError path={path} />
    </label>
  );
}
