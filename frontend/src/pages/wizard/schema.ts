/**
 * Reading the stage kinds' settings schemas (GET .../stage-kinds): defaults, the model of a union's variant
 * (train: one per method), the named choices a field allows. The wizard's starting state and the run page's
 * resume form both draw their fields from here, so neither copies what the API defines.
 */
import type { Schemas } from "../../api/client";

export type StageKind = Schemas["StageKindOut"];

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A model the schema defines under $defs, by name. */
export function defOf(schema: unknown, name: string): Record<string, unknown> | undefined {
  const model = isObj(schema) && isObj(schema.$defs) ? schema.$defs[name] : undefined;
  return isObj(model) ? model : undefined;
}

/**
 * The properties of a stage's settings schema. A union of models (train: one per method, a oneOf with a
 * discriminator) gives those of the model its discriminator maps `variant` to, else of its first model (the
 * default method, sft).
 */
export function schemaProps(schema: Record<string, unknown> | undefined, variant?: string): unknown {
  if (!isObj(schema) || isObj(schema.properties) || !Array.isArray(schema.oneOf)) return schema?.properties;
  const mapping = isObj(schema.discriminator) ? schema.discriminator.mapping : undefined;
  const first = schema.oneOf[0];
  const ref = variant !== undefined && isObj(mapping) ? mapping[variant] : isObj(first) ? first.$ref : undefined;
  return typeof ref === "string" ? defOf(schema, ref.split("/").pop() ?? "")?.properties : undefined;
}

/** A setting's default, read from its stage kind's JSON Schema (GET .../stage-kinds); `variant` picks a union's model. */
export function schemaDefault<T>(kinds: StageKind[], stage: string, field: string, variant?: string): T {
  const props = schemaProps(kinds.find((k) => k.name === stage)?.settings_schema, variant);
  const prop = isObj(props) ? props[field] : undefined;
  if (!isObj(prop) || !("default" in prop)) throw new Error(`the ${stage} stage's schema has no default for ${field}`);
  return prop.default as T;
}

/** The defaults of a model the stage's schema defines in $defs (train's LoraSettings). */
export function defsDefaults(kinds: StageKind[], stage: string, model: string): Record<string, unknown> {
  const schema = kinds.find((k) => k.name === stage)?.settings_schema;
  const props = defOf(schema, model)?.properties;
  if (!isObj(props)) throw new Error(`the ${stage} stage's schema has no ${model}`);
  return Object.fromEntries(Object.entries(props).flatMap(([k, v]) => (isObj(v) && "default" in v ? [[k, v.default]] : [])));
}

/** The model a stage's settings `value` validates as: the schema itself, or a union's variant picked by its
 * discriminator's value in `value` (train's method; absent: the union's first, sft). */
export function settingsModel(schema: unknown, value: Record<string, unknown>): Record<string, unknown> {
  if (!isObj(schema) || !Array.isArray(schema.oneOf)) return isObj(schema) ? schema : {};
  const field = isObj(schema.discriminator) ? schema.discriminator.propertyName : undefined;
  const mapping = isObj(schema.discriminator) ? schema.discriminator.mapping : undefined;
  const tag = typeof field === "string" ? value[field] : undefined;
  const first = schema.oneOf[0];
  const ref = typeof tag === "string" && isObj(mapping) ? mapping[tag] : isObj(first) ? first.$ref : undefined;
  return (typeof ref === "string" ? defOf(schema, ref.split("/").pop() ?? "") : undefined) ?? {};
}

/** The named values a list setting allows (its items' enum): train's waivable pre-flight checks
 * (backend/training/preflight.py, too_long not among them) for a method. */
export function choicesOf(kinds: StageKind[], stage: string, field: string, variant?: string): string[] {
  const props = schemaProps(kinds.find((k) => k.name === stage)?.settings_schema, variant);
  const prop = isObj(props) ? props[field] : undefined;
  const items = isObj(prop) ? prop.items : undefined;
  return isObj(items) && Array.isArray(items.enum) ? items.enum.map(String) : [];
}
