"""A FAKE math teacher's problems and answers, a pure function of the problem's number: the prompt set
of bench/pipeline_scale.py and the fake server's `--math` answers (tests/fakes/fake_openai_server.py)
agree without either holding a table, so the server's memory stays flat at a million generations.

Problem i has a reference (an integer, a fraction, a symbolic expression or a long polynomial);
attempt j of it is a chain of thought of about 2 KB ending in a \\boxed{} answer that is right (in the
reference's form or another), wrong, or missing (no answer stated, or cut off inside the reasoning),
so the math verifier's first tier settles some and math-verify the rest.
"""

from __future__ import annotations

import random
import re

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
    ("\\sqrt{8}", "2\\sqrt{2}", "3\\sqrt{2}"),
    ("3 + 2i", "2i + 3", "3 - 2i"),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", "\\{1, 2\\}"),
]
_FRACTIONS = [(1, 2), (3, 4), (1, 4), (2, 5), (7, 8), (1, 5)]
_WRAPS = [
    "The final answer is $\\boxed{{{}}}$.",
    "Therefore the answer is $\\boxed{{{}}}$.",
    "So we get \\[\\boxed{{{}}}\\]",
]
_NUMBER = re.compile(r"Problem (\d+):")


def _problem_rng(i: int) -> random.Random:
    return random.Random(i * 1_000_003 + 7)


def problem(i: int) -> tuple[str, str, str]:
    """(prompt text, reference, kind) of problem i."""
    rng = _problem_rng(i)
    r = rng.random()
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    if r < 0.55:
        v = a * b + rng.randint(0, 50)
        text = (f"Problem {i}: a shop packs {a} boxes of {b} pencils and finds {v - a * b} loose ones. "
                "How many pencils are there? Put the final answer in \\boxed{}.")  # fmt: skip
        return text, str(v), "integer"
    if r < 0.70:
        p, q = rng.choice(_FRACTIONS)
        return (f"Problem {i}: a bag holds {a * q} marbles, {a * p} of them red. What share is red? "
                "Put the final answer in \\boxed{}.", f"\\frac{{{p}}}{{{q}}}", "fraction")  # fmt: skip
    if r < 0.90:
        ref = rng.choice(_SYMBOLIC)[0]
        return f"Problem {i}: simplify the expression given in case {a}-{b}. Box the result.", ref, "symbolic"
    k = rng.randint(2, 9)
    ref = " + ".join(f"{k + j}x^{{{j}}}" for j in range(8, 0, -1)) + f" + {k}"
    return f"Problem {i}: expand the generating polynomial of order 8 with offset {k}.", ref, "polynomial"


def _reasoning(rng: random.Random, size: int) -> str:
    out, n = [], 0
    while n < size:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        step = rng.choice(_STEPS).format(a=a, b=b, s=a + b, p=a * b, d=a * a - b)
        out.append(step)
        n += len(step) + 1
    return " ".join(out)


def _right(rng: random.Random, ref: str, kind: str) -> str:
    if kind == "integer":
        v = int(ref)
        return rng.choice([ref, f"{v:,}", f"{v}.0"])
    if kind == "fraction":
        p, q = (int(x) for x in ref[6:-1].split("}{"))
        return rng.choice([ref, f"{p / q:g}", f"\\dfrac{{{p}}}{{{q}}}", f"{p}/{q}"])
    if kind == "symbolic":
        return next(right for r, right, _ in _SYMBOLIC if r == ref) if rng.random() < 0.5 else ref
    return ref.replace(" ", "")


def _wrong(rng: random.Random, ref: str, kind: str) -> str:
    if kind == "integer":
        return str(int(ref) + rng.choice([-3, -1, 1, 2, 10, 100]))
    if kind == "fraction":
        return rng.choice(["\\frac{1}{3}", "0.6", "\\frac{5}{6}"])
    if kind == "symbolic":
        return next(bad for r, _, bad in _SYMBOLIC if r == ref)
    return ref.replace("x^{1}", "x^{2}", 1)


def completion(i: int, attempt: int) -> tuple[str, str]:
    """Attempt `attempt` of problem i and its finish reason: <think>reasoning</think> and a boxed answer
    (about 2 KB), or the reasoning cut off at max_tokens (finish `length`)."""
    _, ref, kind = problem(i)
    rng = random.Random((i * 1_000_003 + 7) * 64 + attempt)
    think = "<think>" + _reasoning(rng, rng.randint(1750, 2150)) + "</think>\n\n"
    r = rng.random()
    if r < 0.58:
        return think + rng.choice(_WRAPS).format(_right(rng, ref, kind)), "stop"
    if r < 0.88:
        return think + rng.choice(_WRAPS).format(_wrong(rng, ref, kind)), "stop"
    if r < 0.94:
        return think + "I am not sure how to finish this.", "stop"
    return think[: -len("</think>\n\n")], "length"  # cut off inside the reasoning


def number_of(text: str) -> int | None:
    """The problem number a prompt names, None for any other text."""
    m = _NUMBER.search(text)
    return int(m.group(1)) if m else None
