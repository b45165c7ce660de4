"""The final answer inside a worked reference, for the verifiers, with the worked text kept.

GSM8K's `answer` ends in `#### 42` after its rationale; MATH's `solution` is a whole derivation whose
answer is the last `\\boxed{...}`. The verifier wants 42; the rest goes into the prompt's metadata
(`rationale`, `solution`) instead of being dropped.
"""

from __future__ import annotations

_BOXED = ("\\boxed{", "\\fbox{")


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} (braces nested), or None."""
    start = max(text.rfind(b) for b in _BOXED)
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth, j = 1, i
    while j < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
    return text[i : j - 1].strip() if depth == 0 else None


def split_reference(key: str | None, reference: str) -> tuple[str, dict[str, str] | None]:
    """(the reference the verifiers get, the worked text to keep as metadata or None)."""
    if key == "answer" and "####" in reference:
        rationale, _, final = reference.partition("####")
        if final.strip():
            return final.strip(), {"rationale": rationale.strip()}
    elif key == "solution":
        boxed = last_boxed(reference)
        if boxed:
            return boxed, {"solution": reference}
    return reference, None
