import { useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { formatNumber } from "../../lib/format";
import { chunkText } from "./chunks";
import { Markdown } from "./Markdown";

/**
 * A reasoning trace, collapsed until asked for. Expanded, it is cut into chunks of a few thousand
 * characters and only the chunks in (or near) the scroll box are mounted (@tanstack/react-virtual), so a
 * 200k-character trace opens without freezing the tab. Markdown + KaTeX by default; plain text on request.
 */
export function Reasoning({ text, tokens }: { text: string; tokens?: number | null }) {
  const [open, setOpen] = useState(false);
  const [plain, setPlain] = useState(false);
  return (
    <section className="trace-section reasoning" data-testid="reasoning" data-open={open}>
      <div className="trace-section-head">
        <h3>Reasoning</h3>
        <span className="muted small" data-testid="reasoning-size">
          {formatNumber(text.length)} characters{tokens ? ` · ${formatNumber(tokens)} completion tokens` : ""}
        </span>
        <button
          type="button"
          className="secondary"
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
          data-testid="reasoning-toggle"
        >
          {open ? "Collapse" : "Show reasoning"}
        </button>
        {open && (
          <label className="small">
            <input type="checkbox" checked={plain} onChange={(e) => setPlain(e.target.checked)} /> plain text
          </label>
        )}
      </div>
      {open && <Chunks text={text} plain={plain} />}
    </section>
  );
}

function Chunks({ text, plain }: { text: string; plain: boolean }) {
  const chunks = useMemo(() => chunkText(text), [text]);
  const box = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: chunks.length,
    getScrollElement: () => box.current,
    estimateSize: () => 600,
    overscan: 2,
    // jsdom and the first paint have no layout yet: assume a box of this size until measured
    initialRect: { width: 900, height: 700 },
  });
  const items = virtualizer.getVirtualItems();
  return (
    <div
      ref={box}
      className="reasoning-scroll"
      style={{ height: `min(65vh, ${virtualizer.getTotalSize() + 24}px)` }}
      data-testid="reasoning-scroll"
      data-chunks={chunks.length}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: "relative", width: "100%" }}>
        {items.map((item) => (
          <div
            key={item.key}
            data-index={item.index}
            data-testid="reasoning-chunk"
            ref={virtualizer.measureElement}
            className="reasoning-chunk"
            style={{ position: "absolute", top: 0, left: 0, width: "100%", transform: `translateY(${item.start}px)` }}
          >
            {plain ? <pre className="plain">{chunks[item.index]}</pre> : <Markdown text={chunks[item.index]} />}
          </div>
        ))}
      </div>
    </div>
  );
}
