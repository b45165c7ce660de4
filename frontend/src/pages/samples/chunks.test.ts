import { describe, expect, it } from "vitest";
import { chunkText } from "./chunks";
import { normaliseMath } from "./Markdown";

describe("chunkText", () => {
  it("keeps every character, in order, and cuts at blank lines near the target", () => {
    const paras = Array.from({ length: 200 }, (_, i) => `Paragraph ${i}: ${"word ".repeat(40)}`);
    const text = paras.join("\n\n");
    const chunks = chunkText(text, 1000);
    expect(chunks.join("")).toBe(text);
    expect(chunks.length).toBeGreaterThan(20);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(1000);
      expect(c.endsWith("\n\n")).toBe(true);
    }
  });

  it("never cuts inside a $$ display formula or a code fence", () => {
    const filler = "text ".repeat(300);
    const text = `${filler}\n\n$$\na = b\n\nc = d\n$$\n\n${filler}\n\n\`\`\`\ncode\n\nmore code\n\`\`\`\n\n${filler}`;
    const chunks = chunkText(text, 100);
    expect(chunks.join("")).toBe(text);
    for (const c of chunks) {
      expect((c.match(/\$\$/g)?.length ?? 0) % 2).toBe(0);
      expect((c.match(/```/g)?.length ?? 0) % 2).toBe(0);
    }
  });

  it("cuts one huge paragraph at spaces below the hard limit", () => {
    const text = "x".repeat(10) + " " + "lorem ipsum ".repeat(20_000);
    const chunks = chunkText(text, 3000, 12000);
    expect(chunks.join("")).toBe(text);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(24000);
    expect(chunks.length).toBeGreaterThan(10);
  });

  it("returns short text whole and nothing for empty text", () => {
    expect(chunkText("short")).toEqual(["short"]);
    expect(chunkText("")).toEqual([]);
  });
});

describe("normaliseMath", () => {
  it("rewrites \\( \\) and \\[ \\] to dollar delimiters outside code", () => {
    expect(normaliseMath("so \\(x^2\\) and \\[\\frac{1}{2}\\]")).toBe("so $x^2$ and \n$$\n\\frac{1}{2}\n$$\n");
    expect(normaliseMath("`\\(kept\\)` \\(y\\)")).toBe("`\\(kept\\)` $y$");
  });

  it("makes a bare \\boxed{} inline math, braces balanced, but not one already inside a formula", () => {
    expect(normaliseMath("The answer is \\boxed{\\frac{1}{2}}.")).toBe("The answer is $\\boxed{\\frac{1}{2}}$.");
    expect(normaliseMath("so $\\boxed{3}$")).toBe("so $\\boxed{3}$");
    expect(normaliseMath("total $\\frac{n}{2}$, i.e. \\boxed{5050}.")).toBe("total $\\frac{n}{2}$, i.e. $\\boxed{5050}$.");
    expect(normaliseMath("open \\boxed{1")).toBe("open \\boxed{1");
  });
});
