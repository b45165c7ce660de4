import { fence } from "./code";
import { Markdown } from "./Markdown";

const MAX_PAIRS = 5; // stdin/stdout pairs shown; the rest are counted

type Pair = { input: string; output: string };

function text(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The stdin/stdout pairs of tests in either pair form, or null. */
function pairsOf(tests: unknown): Pair[] | null {
  if (Array.isArray(tests) && tests.length > 0 && tests.every((t) => t && typeof t === "object")) {
    return (tests as Record<string, unknown>[]).map((t) => ({ input: text(t.input ?? t.stdin ?? ""), output: text(t.output ?? t.stdout) }));
  }
  if (tests && typeof tests === "object" && !Array.isArray(tests)) {
    const { inputs, outputs } = tests as { inputs?: unknown; outputs?: unknown };
    if (Array.isArray(inputs) && Array.isArray(outputs)) return inputs.map((inp, i) => ({ input: text(inp), output: text(outputs[i]) }));
  }
  return null;
}

/** Test code of the code forms (a check function, asserts, a string of code), or null. */
function codeOf(tests: unknown): { code: string; summary: string } | null {
  if (typeof tests === "string") return { code: tests, summary: "test code" };
  if (Array.isArray(tests) && tests.every((t) => typeof t === "string")) {
    return { code: tests.join("\n"), summary: `${tests.length} assert${tests.length === 1 ? "" : "s"}` };
  }
  if (tests && typeof tests === "object") {
    const t = tests as { check?: unknown; entry_point?: unknown; asserts?: unknown };
    if (typeof t.check === "string") return { code: t.check, summary: `check(${String(t.entry_point)})` };
    if (Array.isArray(t.asserts)) return codeOf(t.asserts);
  }
  return null;
}

/** One-line description of a prompt's tests, e.g. "7 stdin/stdout pairs" or "check(add)". */
export function testsSummary(tests: unknown): string {
  const pairs = pairsOf(tests);
  if (pairs) return `${pairs.length} stdin/stdout pair${pairs.length === 1 ? "" : "s"}`;
  return codeOf(tests)?.summary ?? "tests";
}

/**
 * A prompt's tests (meta.tests, in any of the import's forms), collapsed: code as highlighted Python,
 * stdin/stdout pairs as a table of the first few. What the code verifier runs the answer against.
 */
export function TestsView({ tests, open = false }: { tests: unknown; open?: boolean }) {
  if (tests === null || tests === undefined) return null;
  const pairs = pairsOf(tests);
  const code = pairs ? null : codeOf(tests);
  return (
    <details className="tests-view" open={open} data-testid="tests-view">
      <summary>
        Tests <span className="muted small">({testsSummary(tests)})</span>
      </summary>
      {pairs ? (
        <table className="table compact tests-pairs">
          <thead>
            <tr>
              <th>stdin</th>
              <th>expected stdout</th>
            </tr>
          </thead>
          <tbody>
            {pairs.slice(0, MAX_PAIRS).map((p, i) => (
              <tr key={i}>
                <td>
                  <pre>{p.input}</pre>
                </td>
                <td>
                  <pre>{p.output}</pre>
                </td>
              </tr>
            ))}
          </tbody>
          {pairs.length > MAX_PAIRS && (
            <tfoot>
              <tr>
                <td colSpan={2} className="muted small">
                  and {pairs.length - MAX_PAIRS} more
                </td>
              </tr>
            </tfoot>
          )}
        </table>
      ) : code ? (
        // HumanEval's test code starts with blank lines: not worth a screen line each
        <Markdown text={fence(code.code.replace(/^\s*\n/, ""), "python")} />
      ) : (
        <Markdown text={fence(JSON.stringify(tests, null, 2), "json")} />
      )}
    </details>
  );
}
