import type { Schemas } from "../../api/client";
import { FieldError } from "./Fields";

/** One route of rollout.teachers: prompts with a tag, or whose metadata field equals a value, go to a teacher. */
export type TeacherRoute = { match: { tag: string } | { field: string; equals: unknown }; teacher_id: number | null };

/** The value the user typed for `equals`, as JSON where it parses (2, true, "x"), else as text. */
export function equalsOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function equalsText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v ?? "");
}

/**
 * Several teachers routed by prompt (rollout.teachers): each row sends the prompts with a tag, or whose
 * metadata field equals a value, to another teacher of the project; a prompt matching no row goes to the
 * run's teacher. The first matching row wins; the API checks each row and names the field it refuses.
 */
export function TeacherRoutes({
  routes,
  teachers,
  onChange,
  path,
}: {
  routes: TeacherRoute[];
  teachers: Schemas["TeacherOut"][];
  onChange: (r: TeacherRoute[]) => void;
  path: string;
}) {
  const set = (i: number, r: TeacherRoute) => onChange(routes.map((x, j) => (j === i ? r : x)));
  return (
    <fieldset className="wide" data-testid={`field-${path}`}>
      <legend>Teachers by prompt</legend>
      <span className="help">
        Prompts with a tag (their metadata tags), or whose metadata field equals a value, go to another teacher; the rest to the run&apos;s teacher.
        The first matching route wins.
      </span>
      {routes.map((r, i) => {
        const byTag = "tag" in r.match;
        return (
          <div className="form-grid" key={i} data-testid={`route-${i}`}>
            <label>
              Match
              <select
                value={byTag ? "tag" : "field"}
                onChange={(e) => set(i, { ...r, match: e.target.value === "tag" ? { tag: "" } : { field: "metadata.", equals: "" } })}
                data-testid={`route-${i}-kind`}
              >
                <option value="tag">tag</option>
                <option value="field">metadata field</option>
              </select>
            </label>
            {"tag" in r.match ? (
              <label>
                Tag
                <input value={r.match.tag} onChange={(e) => set(i, { ...r, match: { tag: e.target.value } })} data-testid={`route-${i}-tag`} />
              </label>
            ) : (
              <>
                <label>
                  Field
                  <input
                    value={r.match.field}
                    placeholder="metadata.domain"
                    onChange={(e) => set(i, { ...r, match: { ...(r.match as { field: string; equals: unknown }), field: e.target.value } })}
                    data-testid={`route-${i}-field`}
                  />
                </label>
                <label>
                  Equals
                  <input
                    value={equalsText(r.match.equals)}
                    onChange={(e) => set(i, { ...r, match: { ...(r.match as { field: string; equals: unknown }), equals: equalsOf(e.target.value) } })}
                    data-testid={`route-${i}-equals`}
                  />
                </label>
              </>
            )}
            <label>
              Teacher
              <select
                value={r.teacher_id ?? ""}
                onChange={(e) => set(i, { ...r, teacher_id: e.target.value ? Number(e.target.value) : null })}
                data-testid={`route-${i}-teacher`}
              >
                <option value="">Choose a teacher</option>
                {teachers.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name} ({t.backend}: {t.model})
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="secondary" onClick={() => onChange(routes.filter((_, j) => j !== i))} data-testid={`route-${i}-remove`}>
              Remove
            </button>
            {["match", "match.tag", "match.field", "teacher_id"].map((k) => (
              <FieldError key={k} path={`${path}.${i}.${k}`} />
            ))}
          </div>
        );
      })}
      <button type="button" className="secondary" onClick={() => onChange([...routes, { match: { tag: "" }, teacher_id: null }])} data-testid={`${path}-add`}>
        Add a route
      </button>
      <FieldError path={path} />
    </fieldset>
  );
}
