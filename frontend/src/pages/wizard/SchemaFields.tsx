import { useState } from "react";
import { Check, FieldError, NumField, SelectField, TextField } from "./Fields";

type Prop = {
  type?: string;
  anyOf?: { type?: string; minimum?: number; maximum?: number }[];
  enum?: string[];
  const?: unknown;
  items?: { enum?: string[] };
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  title?: string;
};

/** A property's JSON-Schema type, whether null is allowed (pydantic writes `X | None` as anyOf) and its
 * bounds (an anyOf's on its non-null member). */
export function propType(p: Prop): { type: string; nullable: boolean; minimum?: number; maximum?: number } {
  if (p.type) return { type: p.type, nullable: false, minimum: p.minimum, maximum: p.maximum };
  const types = (p.anyOf ?? []).map((a) => a.type ?? "object");
  const nonNull = types.filter((t) => t !== "null");
  const member = (p.anyOf ?? []).find((a) => a.type !== "null");
  return { type: nonNull[0] ?? "object", nullable: types.includes("null"), minimum: member?.minimum, maximum: member?.maximum };
}

/**
 * Fields drawn from a model's JSON Schema (a verifier's, a stage's): one per property, by type; a list of
 * named choices (train's override_checks) as checkboxes; objects and other lists as JSON. A value set back to
 * its default is left out, so `value` holds only what differs (the API fills the rest); a discriminator
 * (a `const`, train's method) is not editable here. `base` prefixes each field's path (the API's error paths);
 * `only` draws just those properties (in that order), `labels` names fields in words, `describe` shows each
 * one's schema description under it.
 */
export function SchemaFields({
  schema,
  value,
  onChange,
  base,
  only,
  labels,
  describe = false,
}: {
  schema: Record<string, unknown>;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  base: string;
  only?: readonly string[];
  labels?: Record<string, string>;
  describe?: boolean;
}) {
  const all = (schema.properties ?? {}) as Record<string, Prop>;
  const props = only ? Object.fromEntries(only.filter((k) => k in all).map((k) => [k, all[k]])) : all;
  const required = (schema.required ?? []) as string[];
  const set = (key: string, v: unknown, dflt: unknown) => {
    const next = { ...value };
    if (v === undefined || JSON.stringify(v) === JSON.stringify(dflt)) delete next[key];
    else next[key] = v;
    onChange(next);
  };
  return (
    <div className="form-grid">
      {Object.entries(props).map(([key, p]) => {
        if ("const" in p) return null;
        const { type, nullable, minimum, maximum } = propType(p);
        const label = labels?.[key] ?? key.replace(/_/g, " ");
        const help = describe ? p.description : undefined;
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
              min={minimum}
              max={maximum}
              step={type === "integer" ? 1 : "any"}
              help={help}
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
              onChange={(v) => set(key, v === "" && !required.includes(key) ? (nullable ? null : undefined) : v, p.default)}
            />
          );
        }
        if (type === "array" && p.items?.enum) {
          const chosen = Array.isArray(current) ? (current as string[]) : [];
          return (
            <ChoiceList
              key={key}
              label={label}
              help={p.description}
              path={path}
              options={p.items.enum}
              value={chosen}
              onChange={(v) => set(key, v, p.default)}
            />
          );
        }
        return <JsonField key={key} label={label} path={path} value={current} onChange={(v) => set(key, v, p.default)} />;
      })}
    </div>
  );
}

/** Several named choices (pre-flight checks to waive, models to compare) as checkboxes, in the options' order. */
export function ChoiceList({
  label,
  help,
  path,
  options,
  value,
  onChange,
}: {
  label: string;
  help?: string;
  path: string;
  options: readonly string[];
  value: string[];
  onChange: (v: string[]) => void;
}) {
  return (
    <fieldset className="wide" data-testid={`field-${path}`}>
      <legend>{label}</legend>
      {help && <span className="help">{help}</span>}
      <div className="verifier-list">
        {options.map((o) => (
          <Check
            key={o}
            label={<code>{o}</code>}
            checked={value.includes(o)}
            onChange={(on) => onChange(options.filter((x) => (x === o ? on : value.includes(x))))}
            testId={`field-${path}-${o}`}
          />
        ))}
      </div>
      <FieldError path={path} />
    </fieldset>
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
