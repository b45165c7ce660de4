import type { ReactNode } from "react";
import type { Schemas } from "../../api/client";
import { Check, FieldError, SelectField } from "./Fields";
import { SchemaFields } from "./SchemaFields";

/** Chosen verifiers: names in order, how they combine, and the settings changed from each one's defaults. */
export type VerifierPick = { mode: "all" | "any"; names: string[]; settings: Record<string, Record<string, unknown>> };

/**
 * Verifiers picked from the registry (GET .../verifier-kinds), each one's settings from its schema, and how
 * they combine: the filter's, and an evaluation's own. `prefix` keeps the two lists' test ids apart.
 */
export function VerifierChoice({
  kinds,
  value,
  onChange,
  stage,
  prefix = "",
}: {
  kinds: Schemas["VerifierKindOut"][];
  value: VerifierPick;
  onChange: (v: VerifierPick) => void;
  stage: "filter" | "evaluate";
  prefix?: string;
}): ReactNode {
  const toggle = (name: string, on: boolean) => onChange({ ...value, names: on ? [...value.names, name] : value.names.filter((n) => n !== name) });
  return (
    <>
      <div className="verifier-list" data-testid={`${prefix}verifier-list`}>
        {kinds.length === 0 && <span className="muted">Loading the verifier registry…</span>}
        {kinds.map((k) => (
          <Check key={k.name} label={<code>{k.name}</code>} help={k.help} checked={value.names.includes(k.name)} onChange={(on) => toggle(k.name, on)} testId={`${prefix}verifier-${k.name}`} />
        ))}
      </div>
      {value.names.map((name, index) => {
        const kind = kinds.find((k) => k.name === name);
        return kind ? (
          <VerifierSettings
            key={name}
            name={name}
            index={index}
            stage={stage}
            schema={kind.settings_schema}
            value={value.settings[name] ?? {}}
            onChange={(settings) => onChange({ ...value, settings: { ...value.settings, [name]: settings } })}
          />
        ) : null;
      })}
      {value.names.length > 1 && (
        <SelectField
          label="Combine"
          path={`${stage}.verifiers.mode`}
          value={value.mode}
          options={[["all", "pass all of them"], ["any", "pass any one"]] as const}
          onChange={(mode) => onChange({ ...value, mode })}
        />
      )}
      <FieldError path={`${stage}.verifiers.verifiers`} />
    </>
  );
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
  stage = "filter",
}: {
  name: string;
  /** The recipe key the verifiers sit under (filter, or evaluate for the evaluation's own). */
  stage?: string;
  /** Position among the chosen verifiers: the API's error paths use it. */
  index: number;
  schema: Record<string, unknown>;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
}) {
  const required = (schema.required ?? []) as string[];
  if (Object.keys((schema.properties ?? {}) as object).length === 0) return null;
  return (
    <details className="verifier-settings" open={required.length > 0} data-testid={`verifier-settings-${name}`}>
      <summary>
        <code>{name}</code> settings{required.length > 0 ? ` (needs ${required.join(", ")})` : ""}
      </summary>
      <SchemaFields schema={schema} value={value} onChange={onChange} base={`${stage}.verifiers.verifiers.${index}.settings`} />
    </details>
  );
}
