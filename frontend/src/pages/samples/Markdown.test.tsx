import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { asMarkdown, fence, looksLikeCode } from "./code";
import { Markdown } from "./Markdown";
import { previewParts, MathPreview } from "./MathPreview";
import { TestsView, testsSummary } from "./TestsView";

const PROGRAM = [
  "def solve(nums):",
  "    best = 0",
  "    for n in nums:",
  "        if n > best:  # keep the largest",
  "            best = n",
  "",
  "",
  "    return best",
].join("\n");

// HumanEval/0's prompt and canonical solution as they ship: bare Python, no fences
const HUMAN_EVAL_PROMPT =
  'from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    """ Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    """\n';
const HUMAN_EVAL_SOLUTION =
  "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n";

function codeBlocks(container: HTMLElement): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>("pre > code")];
}

describe("code in rendered text", () => {
  it("keeps a fenced block's indentation and newlines and highlights it", () => {
    const { container } = render(<Markdown text={`Here is the program:\n\n\`\`\`python\n${PROGRAM}\n\`\`\`\n\nIt runs in $O(n)$.`} />);
    const [code] = codeBlocks(container);
    expect(code.textContent).toBe(`${PROGRAM}\n`);
    expect(code.classList.contains("hljs")).toBe(true);
    expect(code.classList.contains("language-python")).toBe(true);
    const keywords = [...code.querySelectorAll(".hljs-keyword")].map((k) => k.textContent);
    expect(keywords).toEqual(expect.arrayContaining(["def", "for", "in", "if", "return"]));
    expect(code.querySelector(".hljs-comment")?.textContent).toBe("# keep the largest");
    expect(code.querySelector(".hljs-title.function_")?.textContent).toBe("solve");
    // the prose around it is still Markdown with KaTeX
    expect(container.querySelector(".katex")).not.toBeNull();
  });

  it("guesses the language of a block that names none, and never reads $ in code as math", () => {
    const { container } = render(<Markdown text={"```\nimport sys\nprice = '$5' + '$6'\nprint(sys.argv)\n```"} />);
    const [code] = codeBlocks(container);
    expect(code.classList.contains("hljs")).toBe(true);
    expect(code.textContent).toContain("price = '$5' + '$6'");
    expect(container.querySelector(".katex")).toBeNull();
  });

  it("shows a bare Python prompt and reference (HumanEval) as highlighted code", () => {
    const prompt = render(<Markdown text={HUMAN_EVAL_PROMPT} />);
    const [code] = codeBlocks(prompt.container);
    expect(code.classList.contains("language-python")).toBe(true);
    expect(code.textContent).toBe(HUMAN_EVAL_PROMPT); // the docstring's >>> and indentation as written
    expect(prompt.container.querySelector("blockquote, h1")).toBeNull();
    const reference = render(<Markdown text={HUMAN_EVAL_SOLUTION} />);
    const [body] = codeBlocks(reference.container);
    expect(body.textContent).toBe(HUMAN_EVAL_SOLUTION.replace(/\n$/, "") + "\n");
    expect(body.textContent!.startsWith("    for idx, elem")).toBe(true);
  });

  it("keeps single line breaks of prose", () => {
    const { container } = render(<Markdown text={"Input:\n3 4\nOutput:\n7"} />);
    expect(container.querySelectorAll("br").length).toBe(3);
    expect(codeBlocks(container)).toHaveLength(0);
  });

  it("tells code from prose", () => {
    expect(looksLikeCode(HUMAN_EVAL_PROMPT)).toBe(true);
    expect(looksLikeCode(HUMAN_EVAL_SOLUTION)).toBe(true);
    expect(looksLikeCode("import numpy as np\nx = np.zeros(3)")).toBe(true);
    expect(looksLikeCode("Import the file and add the numbers.")).toBe(false);
    expect(looksLikeCode("import the file, then add the numbers")).toBe(false);
    expect(looksLikeCode("What is $6 \\times 7$?")).toBe(false);
    expect(looksLikeCode("  42\n  43")).toBe(false);
    expect(looksLikeCode("def f():\n```python\nx\n```")).toBe(false); // fenced already
    expect(asMarkdown("plain words")).toBe("plain words");
    expect(fence("a ``` b", "python")).toBe("````python\na ``` b\n````");
  });

  it("previews code as its first lines, indentation kept", () => {
    expect(previewParts(`Sure:\n\`\`\`python\n${PROGRAM}\n\`\`\``)).toEqual([
      { kind: "text", value: "Sure:" },
      { kind: "code", value: "def solve(nums):\n    best = 0\n    for n in nums:" },
    ]);
    expect(previewParts(HUMAN_EVAL_PROMPT)[0]).toEqual({
      kind: "code",
      value: "from typing import List\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than",
    });
    const { getByTestId } = render(<MathPreview text={HUMAN_EVAL_SOLUTION} />);
    expect(getByTestId("preview-code").textContent!.split("\n")[1]).toBe("        for idx2, elem2 in enumerate(numbers):");
  });

  it("shows a prompt's tests in each form", () => {
    const check = { check: "def check(candidate):\n    assert candidate(1) == 2\n", entry_point: "inc" };
    const r = render(<TestsView tests={check} open />);
    expect(r.getByTestId("tests-view")).toHaveTextContent("check(inc)");
    expect(codeBlocks(r.container)[0].textContent).toBe(check.check);
    expect(testsSummary([{ input: "1\n", output: "2\n" }])).toBe("1 stdin/stdout pair");
    expect(testsSummary({ inputs: ["1", "2"], outputs: ["1", "2"] })).toBe("2 stdin/stdout pairs");
    expect(testsSummary({ asserts: ["assert f(1)", "assert f(2)"] })).toBe("2 asserts");
    expect(testsSummary("assert f(1)")).toBe("test code");
    const pairs = render(<TestsView tests={[{ input: "1 2\n", output: "3\n" }]} open />);
    expect(pairs.container.querySelector(".tests-pairs pre")?.textContent).toBe("1 2\n");
    expect(render(<TestsView tests={null} />).container.innerHTML).toBe("");
  });
});
