import { Markdown } from "../samples/Markdown";

/** A card's leading YAML front matter (between `---` lines) and the Markdown after it; no header: null. */
export function splitFrontMatter(text: string): { header: string | null; body: string } {
  const m = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  return m ? { header: m[1], body: text.slice(m[0].length) } : { header: null, body: text };
}

/** A dataset or model card (a Hub README.md): the YAML header as the code it is (Markdown would read its
 * `- item` lines as bullets and its `---` as rules), the rest as Markdown. */
export function CardMarkdown({ text }: { text: string }) {
  const { header, body } = splitFrontMatter(text);
  return (
    <div className="card-markdown">
      {header !== null && (
        <pre className="front-matter" data-testid="card-front-matter" title="the Hub's metadata (YAML)">
          <code>{header}</code>
        </pre>
      )}
      <Markdown text={body} />
    </div>
  );
}
