/**
 * Cut a long text into chunks of about `target` characters for chunked rendering: at blank lines, never
 * inside a $$ display formula or a ``` fence (a chunk is rendered as Markdown on its own), and a single
 * paragraph longer than `hardMax` is cut at its last newline or space before the limit.
 */
export function chunkText(text: string, target = 3000, hardMax = 12000): string[] {
  if (text.length <= target) return text ? [text] : [];
  const paragraphs = text.split(/(?<=\n\n)/);
  const chunks: string[] = [];
  let current = "";
  let open = false; // inside $$ ... $$ or ``` ... ```
  const flush = () => {
    if (current) chunks.push(current);
    current = "";
  };
  for (const para of paragraphs) {
    for (const piece of splitLong(para, hardMax)) {
      if (!open && current.length >= target) flush();
      current += piece;
      const toggles = (piece.match(/\$\$/g)?.length ?? 0) + (piece.match(/```/g)?.length ?? 0);
      if (toggles % 2 === 1) open = !open;
      if (current.length >= hardMax * 2) {
        open = false; // an unclosed formula: give up keeping it whole rather than grow without end
        flush();
      }
    }
  }
  flush();
  return chunks;
}

function splitLong(para: string, hardMax: number): string[] {
  if (para.length <= hardMax) return [para];
  const out: string[] = [];
  let rest = para;
  while (rest.length > hardMax) {
    const window = rest.slice(0, hardMax);
    let cut = Math.max(window.lastIndexOf("\n"), window.lastIndexOf(" "));
    if (cut < hardMax / 2) cut = hardMax;
    out.push(rest.slice(0, cut + (cut < hardMax ? 1 : 0)));
    rest = rest.slice(cut + (cut < hardMax ? 1 : 0));
  }
  if (rest) out.push(rest);
  return out;
}
