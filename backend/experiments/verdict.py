"""The pressure test's verdict (pure): does the teacher beat the base student by more than a margin,
with the paired interval of their difference on the same held-out prompts?"""

from __future__ import annotations

from typing import Any

DEFAULT_MARGIN = 0.05  # five points of accuracy: less than that rarely pays for a rollout and a training


def pressure_verdict(
    *, teacher: float, student: float, difference: dict[str, Any], margin: float
) -> dict[str, Any]:
    """material: the interval's lower bound clears the margin; not_material: its upper bound does not
    reach it; inconclusive: the interval holds the margin (more prompts would tell)."""
    lo, hi = difference["ci"]
    n = difference["prompts"]
    d = difference["difference"]
    pts = f"{d * 100:+.1f} points (95% interval {lo * 100:+.1f} to {hi * 100:+.1f}) over {n} held-out prompts"
    scores = f"teacher {teacher:.1%}, base student {student:.1%}"
    if lo > margin:
        verdict = "material"
        sentence = (
            f"The teacher materially beats the base student: {pts}, above the {margin * 100:.0f}-point "
            f"margin ({scores}). Distillation has room to pay."
        )
    elif hi <= margin:
        verdict = "not_material"
        sentence = (
            f"The teacher does not materially beat the base student: {pts}, not above the "
            f"{margin * 100:.0f}-point margin ({scores}). Distillation will not earn its build."
        )
    else:
        verdict = "inconclusive"
        sentence = (
            f"Not shown that the teacher materially beats the base student: {pts} holds the "
            f"{margin * 100:.0f}-point margin ({scores}). Test more prompts before spending."
        )
    return {"verdict": verdict, "material": verdict == "material", "sentence": sentence}
