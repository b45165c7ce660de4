import type { Schemas } from "../../api/client";

type PromptSet = Schemas["PromptSetOut"];

export interface VerifierSuggestion {
  /** What the set holds: tests (code), references (math), both, neither, or not counted (older versions). */
  kind: "code" | "math" | "both" | "neither" | "unknown";
  /** The verifiers to select; null: leave the selection as it is. */
  names: string[] | null;
  note: string;
}

function count(n: number, what: string): string {
  return `${n.toLocaleString("en-US")} prompt${n === 1 ? "" : "s"} ${what}`;
}

/**
 * The verifiers a prompt set calls for, from what it holds: tests -> code, references -> math. A set with
 * both gets code (never math for a code set: a code reference is not a final answer to compare) and a
 * note saying so; one with neither gets none, and says what could check it instead.
 */
export function suggestVerifiers(set: PromptSet | undefined): VerifierSuggestion | null {
  if (!set) return null;
  const stats = (set.stats ?? {}) as { references?: { with_reference?: unknown } };
  const tests = set.with_tests;
  const refs = set.with_reference ?? (typeof stats.references?.with_reference === "number" ? stats.references.with_reference : null);
  if (tests == null) {
    return {
      kind: "unknown",
      names: null,
      note: "This version was imported before prompt sets counted their tests: choose the verifiers yourself (code for tests, math for final answers).",
    };
  }
  if (tests > 0 && (refs ?? 0) > 0) {
    return {
      kind: "both",
      names: ["code"],
      note: `This set holds tests and references: ${count(tests, "have tests")}, ${count(refs!, "a reference")}. The code verifier is selected for the tests; add math only if the references are final answers to compare.`,
    };
  }
  if (tests > 0) {
    return { kind: "code", names: ["code"], note: `${count(tests, "have tests")}: the code verifier runs the answer's program against them.` };
  }
  if ((refs ?? 0) > 0) {
    return {
      kind: "math",
      names: ["math"],
      note: `${count(refs!, "have a reference answer")}, and none has tests: the math verifier compares each final answer with it.`,
    };
  }
  return {
    kind: "neither",
    names: [],
    note: "This set has no tests and no references, so neither code nor math can check it: use format, regex or json, or the judge.",
  };
}
