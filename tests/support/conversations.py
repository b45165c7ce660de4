"""Chat conversations that end on a teacher turn in the reasoning form (<think>...</think>)."""

from __future__ import annotations

REASONING, ANSWER = "Two and two make four; check: 4 - 2 = 2.", "The answer is $\\boxed{4}$."


def convos(n: int = 6) -> list[list[dict]]:
    """Single- and multi-turn conversations, one with a system prompt, each ending on a teacher turn."""
    out = []
    for i in range(n):
        final = {"role": "assistant", "content": f"<think>\n{REASONING} ({i})\n</think>\n\n{ANSWER}"}
        if i % 2:
            out.append([{"role": "user", "content": f"What is 2 + 2? ({i})"}, final])
        else:
            out.append(
                [
                    {"role": "system", "content": "Reason step by step."},
                    {"role": "user", "content": "Name a prime."},
                    {"role": "assistant", "content": "<think>\nan earlier thought\n</think>\n\n2 is prime."},
                    {"role": "user", "content": f"What is 2 + 2? ({i})"},
                    final,
                ]
            )
    return out
