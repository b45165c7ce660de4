import katex from "katex";
import { memo } from "react";
import { looksLikeCode } from "./code";
import { normaliseMath } from "./Markdown";

export type PreviewPart = { kind: "text" | "math" | "code"; value: string };

const CODE_LINES = 3; // lines of code a preview shows
const CODE_LINE_CHARS = 120;

/** The first few non-blank lines of code, indentation kept, each cut to a preview's width. */
function codeHead(code: string): string {
  return code
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(0, CODE_LINES)
    .map((l) => (l.length > CODE_LINE_CHARS ? `${l.slice(0, CODE_LINE_CHARS)}…` : l))
    .join("\n");
}

/**
 * A one-line preview of a prompt or an answer: at most `max` characters of source, newlines as spaces,
 * the LaTeX between $ (and $$, \( \), \[ \], bare \boxed{}) split out for KaTeX. A cut never falls inside
 * a formula: an unclosed one is left out and the preview ends in an ellipsis. Code (the first fenced
 * block, or text that is bare Python) is previewed as its first lines, indentation kept: flattened into
 * one line it would be unreadable.
 */
export function previewParts(text: string, max = 160): PreviewPart[] {
  // a long answer (a trace can be 200k characters) is cut before the regexes see it
  const head = text.slice(0, max * 4);
  if (looksLikeCode(head)) return [{ kind: "code", value: codeHead(head) }];
  const block = /```[^\n]*\n([\s\S]*?)(?:```|$)/.exec(head);
  if (block && block[1].trim()) {
    const before = head.slice(0, block.index);
    return [...(before.trim() ? previewParts(before, max) : []), { kind: "code", value: codeHead(block[1]) }];
  }
  const flat = normaliseMath(head).replace(/\$\$/g, "$").replace(/\s+/g, " ").trim();
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
        p.kind === "code" ? (
          <code key={i} className="preview-code" data-testid="preview-code">
            {p.value}
          </code>
        ) : p.kind === "math" ? (
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
