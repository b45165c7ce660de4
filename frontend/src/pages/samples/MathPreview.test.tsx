import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { MathPreview, previewParts } from "./MathPreview";

describe("sample previews", () => {
  it("splits formulas out of the text", () => {
    expect(previewParts("What is $6 \\times 7$?")).toEqual([
      { kind: "text", value: "What is " },
      { kind: "math", value: "6 \\times 7" },
      { kind: "text", value: "?" },
    ]);
    expect(previewParts("so \\boxed{42}\nend")).toEqual([
      { kind: "text", value: "so " },
      { kind: "math", value: "\\boxed{42}" },
      { kind: "text", value: " end" },
    ]);
  });

  it("never cuts inside a formula", () => {
    const parts = previewParts("abc $x^2 + y^2 = z^2$ tail", 10);
    expect(parts).toEqual([{ kind: "text", value: "abc " }, { kind: "text", value: "…" }]);
    expect(previewParts("a".repeat(20), 5)).toEqual([{ kind: "text", value: "aaaaa" }, { kind: "text", value: "…" }]);
  });

  it("renders formulas with KaTeX and shows a broken one as its source", () => {
    const { container } = render(<MathPreview text="Compute $\frac{84}{2}$ and $\frac{1}{$." />);
    expect(container.querySelectorAll(".katex").length).toBeGreaterThanOrEqual(1);
    expect(container.textContent).toContain("Compute");
    expect(container.textContent).not.toContain("$");
    const plain = render(<MathPreview text="no math here" />);
    expect(plain.container.textContent).toBe("no math here");
  });
});
