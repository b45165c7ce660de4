"""The demo's reasoning task: a 3-5 digit number times a single digit, worked digit by digit, the
answer in \\boxed{}. Deterministic for a seed; used to make the prompt set and the teacher's traces.

A worked trace multiplies from the last digit, carrying as a person does on paper:

    <think>
    7*3=21 w1 c2
    7*2+2=16 w6 c1
    7*5+1=36 w6 c3
    3
    </think>
    \\boxed{3661}
"""

from __future__ import annotations

import random

QUESTION = "Compute {a} x {b}."


def problem(rng: random.Random) -> tuple[int, int]:
    digits = rng.randint(3, 5)
    return rng.randint(10 ** (digits - 1), 10**digits - 1), rng.randint(2, 9)


def working(a: int, b: int) -> str:
    """The digit-by-digit working, least significant digit first."""
    lines, carry = [], 0
    for ch in reversed(str(a)):
        d = int(ch)
        v = d * b + carry
        lines.append(
            f"{b}*{d}+{carry}={v} w{v % 10} c{v // 10}" if carry else f"{b}*{d}={v} w{v % 10} c{v // 10}"
        )
        carry = v // 10
    if carry:
        lines.append(str(carry))
    return "\n".join(lines)


def trace(a: int, b: int, *, skip_working: bool = False) -> str:
    """The teacher's answer: the working inside <think>, then the boxed product. With skip_working the
    reasoning block is empty: the habit the demo's teacher has on one kind of problem."""
    body = "" if skip_working else working(a, b) + "\n"
    return f"<think>\n{body}</think>\n\\boxed{{{a * b}}}"


def answer_only(a: int, b: int) -> str:
    return f"\\boxed{{{a * b}}}"


def rows(n: int, seed: int) -> list[dict]:
    """Prompt-set rows: {"prompt", "reference"}, distinct problems."""
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    out = []
    while len(out) < n:
        a, b = problem(rng)
        if (a, b) in seen:
            continue
        seen.add((a, b))
        out.append({"prompt": QUESTION.format(a=a, b=b), "reference": str(a * b)})
    return out


def parse(prompt: str) -> tuple[int, int]:
    left, right = prompt.removeprefix("Compute ").removesuffix(".").split(" x ")
    return int(left), int(right)
