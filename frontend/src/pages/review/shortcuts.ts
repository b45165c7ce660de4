import { useEffect, useRef } from "react";

/** The review queue's keys, shown by the `?` overlay (one list, so the overlay cannot drift). */
export const SHORTCUTS: { key: string; action: string }[] = [
  { key: "j", action: "next item (newer)" },
  { key: "k", action: "previous item (older: your decisions this session)" },
  { key: "a", action: "accept" },
  { key: "r", action: "reject" },
  { key: "e", action: "edit the answer and reasoning (Ctrl+Enter saves, Esc cancels)" },
  { key: "s", action: "skip (back in the queue)" },
  { key: "u", action: "undo your last decision" },
  { key: "?", action: "show or hide these shortcuts" },
];

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

/**
 * Calls handlers[key] on a keydown anywhere in the page, except while typing in a field or with a
 * modifier held (so the browser's own shortcuts keep working). Escape always reaches handlers.Escape.
 */
export function useShortcuts(handlers: Record<string, () => void>, enabled = true) {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === "Escape" && ref.current.Escape) {
        ref.current.Escape();
        return;
      }
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
      const fn = ref.current[ev.key];
      if (fn) {
        ev.preventDefault();
        fn();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enabled]);
}
