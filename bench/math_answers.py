"""Realistic math completions for the verifier benchmark: a reasoning part, then an answer that is
right (in the reference's form or another), wrong, unparseable, long LaTeX, or one of a planted family
that hangs sympy-based checking (huggingface/Math-Verify#65). Deterministic for a seed."""

from __future__ import annotations

import random

_STEPS = [
    "First, note that {a} + {b} = {s}.",
    "Multiplying both sides by {a} gives ${a}x = {p}$.",
    "We can write $\\frac{{{a}}}{{{b}}}$ in lowest terms.",
    "Let $n = {a}$; then $n^2 - {b} = {d}$.",
    "Checking the case $k = {b}$ separately, nothing changes.",
    "So the total is ${a} \\times {b} = {p}$ items.",
    "By the Pythagorean theorem, $c^2 = a^2 + b^2$.",
    "Wait, let me re-check: {s} - {b} = {a}. Yes.",
]
_SYMBOLIC = [  # (reference, another way to write it right, a wrong one)
    ("\\frac{\\sqrt{3}}{2}", "\\dfrac{\\sqrt3}{2}", "\\frac{\\sqrt{2}}{2}"),
    ("(x+1)^2", "x^2+2x+1", "x^2+1"),
    ("2\\pi", "\\pi \\cdot 2", "\\pi"),
    ("(-\\infty, 3]", "(-\\infty,3]", "(-\\infty, 3)"),
    ("\\sqrt{8}", "2\\sqrt{2}", "3\\sqrt{2}"),
    ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", "\\frac{1}{2}"),
    ("3 + 2i", "2i + 3", "3 - 2i"),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", "\\{1, 2\\}"),
]
_HANG = (  # \dfrac{5^{\left(5^{\left(5^{\left(5^5\right)}\right)} - 4\right)} - 5}{16} and its kin
    "\\dfrac{{{b}^{{\\left({b}^{{\\left({b}^{{\\left({b}^{e}\\right)}}\\right)}}"
    " - {c}\\right)}} - {d}}}{{{q}}}"
)


def _reasoning(rng: random.Random, lo: int, hi: int) -> str:
    out, size = [], rng.randint(lo, hi)
    while sum(map(len, out)) < size:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        out.append(rng.choice(_STEPS).format(a=a, b=b, s=a + b, p=a * b, d=a * a - b))
    return " ".join(out)


def _wrap(rng: random.Random, answer: str) -> str:
    return rng.choice(
        [
            "The final answer is $\\boxed{{{}}}$.",
            "Therefore the answer is $\\boxed{{{}}}$.",
            "#### {}",
            "Answer: {}",
            "So we get \\[\\boxed{{{}}}\\]",
        ]
    ).format(answer)


def hang_answer(rng: random.Random) -> str:
    b = rng.choice([5, 7, 9])
    return _HANG.format(
        b=b, e=rng.choice([5, 6, 7]), c=rng.randint(2, 9), d=rng.randint(2, 9), q=rng.choice([16, 8, 4])
    )


def make(n: int, n_hang: int, seed: int = 0) -> list[dict]:
    """n items ({"completion", "reference", "kind"}); n_hang of them from the hang family, spread out."""
    rng = random.Random(seed)
    items = []
    for _ in range(n - n_hang):
        r = rng.random()
        think = "<think>" + _reasoning(rng, 200, 1500) + "</think>\n\n"
        if r < 0.30:  # GSM8K-style integer, right
            v = rng.randint(1, 5000)
            ref, ans, kind = str(v), rng.choice([str(v), f"{v:,}", f"{v}.0" if v < 100 else str(v)]), "right"
        elif r < 0.40:  # fraction, decimal or percent written another way, right
            p, q = rng.choice([(1, 2), (3, 4), (1, 4), (2, 5), (7, 8), (1, 5)])
            ref = f"\\frac{{{p}}}{{{q}}}"
            ans, kind = (
                rng.choice([f"{p / q:g}", f"{p}/{q}", f"\\dfrac{{{p}}}{{{q}}}", f"{p * 100 / q:g}\\%"]),
                "right",
            )
        elif r < 0.62:  # wrong number
            v = rng.randint(1, 5000)
            ref, ans, kind = str(v), str(v + rng.choice([-3, -1, 1, 2, 10, 100])), "wrong"
        elif r < 0.77:  # symbolic, right or wrong, needs sympy
            ref, right, bad = rng.choice(_SYMBOLIC)
            good = rng.random() < 0.6
            ans, kind = (right if good else bad), ("right_symbolic" if good else "wrong_symbolic")
        elif r < 0.88:  # unparseable: no answer stated, or cut off in the reasoning
            ref = str(rng.randint(1, 500))
            if rng.random() < 0.5:
                items.append(
                    {
                        "completion": think + "I am not sure how to finish this.",
                        "reference": ref,
                        "kind": "unparseable",
                    }
                )
            else:
                items.append(
                    {"completion": think[: -len("</think>\n\n")], "reference": ref, "kind": "unparseable"}
                )
            continue
        else:  # long LaTeX: a matrix or a long polynomial
            k = rng.randint(2, 9)
            if rng.random() < 0.5:
                ref = (
                    "\\begin{pmatrix} "
                    + " \\\\ ".join(" & ".join(str(k * i + j) for j in range(3)) for i in range(3))
                    + " \\end{pmatrix}"
                )
                ans = ref if rng.random() < 0.7 else ref.replace(str(k), str(k + 1), 1)
            else:
                ref = " + ".join(f"{k + i}x^{{{i}}}" for i in range(12, 0, -1)) + f" + {k}"
                ans = ref.replace(" ", "") if rng.random() < 0.7 else ref.replace(f"{k + 1}x", f"{k + 2}x", 1)
            kind = "long_latex"
        items.append({"completion": think + _wrap(rng, ans), "reference": ref, "kind": kind})
    for j in range(n_hang):
        think = "<think>" + _reasoning(rng, 200, 800) + "</think>\n\n"
        item = {
            "completion": think + f"The final answer is $\\boxed{{{hang_answer(rng)}}}$.",
            "reference": str(rng.randint(2, 9)),
            "kind": "hang",
        }
        items.insert((j + 1) * len(items) // (n_hang + 1), item)
    return items
