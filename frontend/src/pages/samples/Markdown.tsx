import { memo } from "react";
import ReactMarkdown, { type Options } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeKatex from "rehype-katex";
import remarkBreaks from "remark-breaks";
import remarkMath from "remark-math";
import { asMarkdown } from "./code";
import "katex/dist/katex.min.css";
import "./code.css";

/**
 * Models write LaTeX between \( \) and \[ \] as often as between $ and $$; remark-math reads only the
 * dollar forms, so the bracket forms are rewritten first (outside code spans and fences). A bare
 * \boxed{...} (the final-answer convention) outside any formula is made inline math too.
 */
export function normaliseMath(text: string): string {
  const parts = text.split(/(```[\s\S]*?```|`[^`\n]*`)/g);
  return parts
    .map((part, i) => {
      if (i % 2 === 1) return part;
      const out = part
        .replace(/\\\[([\s\S]*?)\\\]/g, (_m, body: string) => `\n$$\n${body.trim()}\n$$\n`)
        .replace(/\\\(([\s\S]*?)\\\)/g, (_m, body: string) => `$${body.trim()}$`);
      // outside the $...$ and $$...$$ already there
      return out
        .split(/(\$\$[\s\S]*?\$\$|\$[^$\n]*\$)/g)
        .map((piece, k) => (k % 2 === 1 ? piece : wrapBoxed(piece)))
        .join("");
    })
    .join("");
}

function wrapBoxed(text: string): string {
  let out = "";
  let i = 0;
  for (let at = text.indexOf("\\boxed{"); at !== -1; at = text.indexOf("\\boxed{", i)) {
    let depth = 0;
    let end = -1;
    for (let j = at + 6; j < text.length; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}" && --depth === 0) {
        end = j;
        break;
      }
    }
    if (end === -1) break;
    out += `${text.slice(i, at)}$${text.slice(at, end + 1)}$`;
    i = end + 1;
  }
  return out + text.slice(i);
}

/** Languages tried on a fenced block that names none (highlight.js guesses among these only: each one
 * tried costs a pass over the block). A block that names a language gets any of lowlight's common ones. */
const GUESS = ["python", "javascript", "typescript", "java", "cpp", "c", "go", "rust", "bash", "json", "sql", "yaml"];

const REMARK: Options["remarkPlugins"] = [remarkMath, remarkBreaks];
// KaTeX first: it replaces the math code elements, which highlight.js would otherwise take for code.
const REHYPE: Options["rehypePlugins"] = [
  [rehypeKatex, { throwOnError: false, strict: "ignore" }],
  [rehypeHighlight, { detect: true, subset: GUESS, plainText: ["text", "txt", "plain"] }],
];

/**
 * Markdown with LaTeX rendered by KaTeX (a formula that does not parse is shown as its source) and code
 * blocks highlighted by highlight.js (rehype-highlight), kept as written: monospace, every space and
 * line, scrolled sideways instead of wrapped or cut. Single newlines stay line breaks (remark-breaks):
 * prompts and answers mean them. Bare Python (a HumanEval prompt or reference) is shown as a code block.
 */
export const Markdown = memo(function Markdown({ text, className }: { text: string; className?: string }) {
  return (
    <div className={`markdown ${className ?? ""}`}>
      <ReactMarkdown remarkPlugins={REMARK} rehypePlugins={REHYPE}>
        {normaliseMath(asMarkdown(text))}
      </ReactMarkdown>
    </div>
  );
});
