import type { Schemas } from "../../api/client";
import { formatNumber } from "../../lib/format";

type Check = Schemas["CheckResult"];

/** What one check's result means for the data: passed clean, some examples left out, waived, or failed. */
function outcome(c: Check): "clean" | "left-out" | "waived" | "failed" {
  if (c.overridden) return "waived";
  if (!c.passed) return "failed";
  return c.count > 0 ? "left-out" : "clean";
}

const SAID = { "left-out": "left out", waived: "failed, waived by the recipe", failed: "failed" } as const;

/**
 * The pre-flight report, stored on the stage before the first step: per check, how many examples it
 * flagged out of how many, a few of them, and the fix. What was left out or waived is shown up front (it
 * changes what the student learns); the clean checks are one line below it.
 */
export function PreflightReport({ checks, maxLength }: { checks: Check[]; maxLength?: number | null }) {
  if (checks.length === 0) return null;
  const flagged = checks.filter((c) => outcome(c) !== "clean");
  const clean = checks.filter((c) => outcome(c) === "clean");
  return (
    <div className="preflight" data-testid="preflight">
      <h4>Pre-flight checks{maxLength ? ` (max_length ${formatNumber(maxLength)} tokens)` : ""}</h4>
      {flagged.length > 0 && (
        <ul className="preflight-flagged">
          {flagged.map((c) => (
            <li key={c.name} className={`preflight-${outcome(c)}`} data-testid="preflight-flagged" data-check={c.name} data-outcome={outcome(c)}>
              <strong>
                {c.name}: {formatNumber(c.count)} of {formatNumber(c.total)} {c.total === 1 ? "example" : "examples"}{" "}
                {SAID[outcome(c) as keyof typeof SAID]}
              </strong>
              {c.fix && <span> — {c.fix}</span>}
              <div className="small">{c.help}</div>
              {c.examples.length > 0 && (
                <ul className="preflight-examples" data-testid="preflight-examples">
                  {c.examples.map((e, i) => (
                    <li key={i}>
                      <code>{e}</code>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
      <p className="small" data-testid="preflight-clean">
        {clean.length ? `passed on every example: ${clean.map((c) => c.name).join(", ")}` : "no check passed clean"}
      </p>
    </div>
  );
}
