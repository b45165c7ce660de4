/**
 * Code in text that is shown as Markdown. Answers fence their code; prompts and references of code sets
 * often do not (HumanEval's prompt is a bare signature and docstring, its reference an indented body),
 * and Markdown would then fold their lines, read `#` comments as headings and `>>>` as quotes. Such text
 * is recognised here and fenced as Python, so it keeps its indentation and gets highlighted.
 */

const FIRST_LINE = [
  /^from\s+[\w.]+\s+import\s+[\w*, ()]+$/,
  /^import\s+[\w.]+(\s+as\s+\w+)?(\s*,\s*[\w.]+(\s+as\s+\w+)?)*$/,
  /^(async\s+)?def\s+\w+\s*\(.*$/,
  /^class\s+\w+\s*(\(.*\))?\s*:\s*$/,
  /^@\w[\w.]*(\(.*\))?$/,
  /^#!.*python/,
];
const STATEMENT = /^\s+(return\b|for\s.*:$|if\s.*:$|elif\s.*:$|else\s*:$|while\s.*:$|try\s*:$|with\s.*:$|def\s|yield\b|raise\b)/;

/** Whether text without fences is Python source rather than prose. */
export function looksLikeCode(text: string): boolean {
  if (text.includes("```") || text.includes("~~~")) return false;
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return false;
  const first = lines[0].trimEnd();
  if (FIRST_LINE.some((re) => re.test(first))) return true;
  // a function body on its own (a reference solution): every line indented, and Python statements in it
  return lines.length >= 2 && lines.every((l) => /^(\t| {2,})/.test(l)) && lines.some((l) => STATEMENT.test(l.trimEnd()));
}

/** text as one fenced block, with a fence longer than any run of backticks inside it. */
export function fence(text: string, lang = ""): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const f = "`".repeat(longest + 1);
  return `${f}${lang}\n${text.replace(/\n+$/, "")}\n${f}`;
}

/** What the Markdown renderer is given: the text, or the text fenced as Python when it is bare code. */
export function asMarkdown(text: string): string {
  return looksLikeCode(text) ? fence(text, "python") : text;
}
