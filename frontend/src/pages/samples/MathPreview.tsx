import katex from "katex";
import { memo } from "react";
import { normaliseMath } from "./Markdown";

export type PreviewPart = { kind: "text" | "math"; value: string };

/**
 * A one-line preview of a prompt or an answer: at most `max` characters of source, newlines as spaces,
 * the LaTeX between $ (and $$, \( \), \[ \], bare \boxed{}) split out for KaTeX. A cut never falls inside
 * a formula: an unclosed one is left out and the preview ends in an ellipsis.
 */
export function previewParts(text: string, max = 160): PreviewPart[] {
  // a long answer (a trace can be 200k characters) is cut before the regexes see it
  const flat = normaliseMath(text.slice(0, max * 4)).replace(/\$\$/g, "$").replace(/\s+/g, " ").trim();
  const parts: PreviewPart[] = [];
  let used = 0;
  let cut = false;
  for (const [i, piece] of flat.split(/(\$[^$]*\$)/g).entries()) {
    if (!piece) continue;
    const math = i % 2 === 1;
    const value = math ? piece.slice(1, -1).trim() : piece;
    if (used + piece.length > max) {
      if (!math) parts.push({ kind: "text", value: value.slice(0, Math.max(0, max - used)) });
      cut = true;
      break;
    }
    if (math && value) parts.push({ kind: "math", value });
    else if (!math) parts.push({ kind: "text", value: value.replace(/\$/g, "") });
    used += piece.length;
  }
  if (cut) parts.push({ kind: "text", value: "…" });
  return parts;
}

/** previewParts rendered: formulas by KaTeX (one that does not parse is shown as its source). */
export const MathPreview = memo(function MathPreview({ text, max = 160 }: { text: string; max?: number }) {
  return (
    <>
      {previewParts(text, max).map((p, i) =>
        p.kind === "math" ? (
          <span
            key={i}
            className="preview-math"
            // KaTeX escapes the source it is given; trust stays off, so no \href or \html.
            dangerouslySetInnerHTML={{ __html: katex.renderToString(p.value, { throwOnError: false, strict: "ignore", output: "html" }) }}
          />
        ) : (
          <span key={i}>{p.value}</span>
        ),
      )}
    </>
  );
});
