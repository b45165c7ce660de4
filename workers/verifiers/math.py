"""The math verifier: the answer stated after the reasoning against the reference, by the cheap
first tier where it is sure and by HF math-verify (in the hard-timeout pool) otherwise."""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Any

from backend.verifiers.registry import MathSettings
from workers.verifiers import extract, first_tier
from workers.verifiers.verdict import Item, Status, Verdict, verdict

NAME, VERSION = "math", "1"
_SLOW = "workers.verifiers.math:slow_check"
_REF_SLOW = "workers.verifiers.math:slow_reference_parses"
_PROSE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_TEXT_CMD = re.compile(r"\\(?:begin|end)\{[a-zA-Z*]+\}|\\[a-zA-Z]+")
_MAX_BITS = 1 << 22  # a power this big takes sympy a second; the hang family is past 2^1000 bits
log = logging.getLogger(__name__)


def _boxed(s: str) -> str:
    return "\\boxed{" + s + "}"


def _parse(text: str) -> list:
    from math_verify import parse

    # No alarm: the pool's hard kill is the timeout, and math-verify's own would turn into "wrong".
    return parse(_boxed(text), parsing_timeout=None)


def _is_expression(parsed: list, text: str) -> bool:
    # Inside \boxed{} math-verify keeps anything as a string and reads prose as a product of letters;
    # neither is something to compare an answer with.
    return any(not isinstance(p, str) for p in parsed) and len(_PROSE.findall(_TEXT_CMD.sub("", text))) < 2


def _bits(e) -> float | None:
    """An upper bound on log2 of the numbers (numerator, denominator) sympy would compute exactly from e
    (integers and fractions under +, * and powers); None where e is anything else."""
    from sympy import Add, Mul, Pow, Rational, binomial, factorial, factorial2, gamma

    if isinstance(e, factorial | factorial2 | gamma):  # n! < n^n: n*log2(n) bits, n below 2^bits(n)
        n = _bits(e.args[0])
        return None if n is None else (2.0**n * n if n < 64 else math.inf)
    if isinstance(e, binomial):  # C(n, k) <= 2^n
        n = _bits(e.args[0])
        return None if n is None else (2.0**n if n < 64 else math.inf)
    if isinstance(e, Rational):
        return math.log2(max(abs(e.p), abs(e.q), 1))
    if isinstance(e, Add | Mul):
        parts = [_bits(a) for a in e.args]
        known = [p for p in parts if p is not None]
        if len(known) < len(parts):
            return None
        return max(known) + math.log2(len(known)) if isinstance(e, Add) else sum(known)
    if isinstance(e, Pow):
        base, expt = _bits(e.base), _bits(e.exp)
        if base is None or expt is None:
            return None
        if base <= 0:  # a base of 0 or ±1 stays that small (2 is 1 bit, and 2^{2^{100}} is not)
            return 0.0
        return base * 2.0**expt if expt < 64 else math.inf
    return None


def _too_big(parsed: list) -> bool:
    """A power or factorial past _MAX_BITS anywhere in the expression: sympy computes them exactly and
    would never return (5^{5^{5^{5^5}}} and its kin, Math-Verify#65; (10^{10})!), so the check is a sure
    timeout."""
    from sympy import Basic, Pow, binomial, factorial, factorial2, gamma, preorder_traversal

    big = (Pow, factorial, factorial2, gamma, binomial)
    for p in parsed:
        if isinstance(p, Basic):
            for node in preorder_traversal(p):
                if isinstance(node, big) and (_bits(node) or 0.0) > _MAX_BITS:
                    return True
    return False


def slow_check(answer: str, reference: str, float_rounding: int) -> tuple[Status, dict[str, Any]]:
    """math-verify on one extracted answer; runs in a pool worker."""
    from math_verify import verify

    gold = _parse(reference)
    if not _is_expression(gold, reference):
        return "reference_unparseable", {"reference": reference[:200]}
    pred = _parse(answer)
    if not pred:
        return "unparseable", {"answer": answer[:200], "reason": "math-verify found no expression"}
    if _too_big(pred) or _too_big(gold):  # answered at once, not after burning the whole timeout
        return "timeout", {"answer": answer[:200], "tier": "too_big"}
    ok = verify(gold, pred, float_rounding=float_rounding, timeout_seconds=None, raise_on_error=True)
    return ("passed" if ok else "wrong"), {"answer": answer[:200], "tier": "math_verify"}


def slow_reference_parses(reference: str) -> bool:
    answer = extract.extract_reference(reference)
    return _is_expression(_parse(answer), answer)


def warm() -> None:
    """Imported and run by each pool worker before its first check, so no check pays for sympy."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every call without an alarm
    slow_check("\\frac{1}{2}", "0.5", 6)


def _first(item: Item, s: MathSettings) -> Verdict | tuple[str, str]:
    """A verdict from the first tier, or the (answer, reference) pair math-verify must settle."""
    if not item.reference or not item.reference.strip():
        return verdict(NAME, VERSION, "reference_unparseable", reason="no reference")
    split = extract.split_reasoning(item.completion, item.reasoning)
    reference = extract.extract_reference(item.reference)
    letter_ref = extract.choice_letter(reference) if len(reference) <= 4 else None
    found = extract.extract_answer(split.answer)
    if letter_ref and reference.strip("()").isupper():
        letter = extract.choice_letter(found[0] if found else split.answer)
        if letter is None:
            return verdict(NAME, VERSION, "unparseable", reason="no choice letter found")
        return verdict(
            NAME, VERSION, "passed" if letter == letter_ref else "wrong", answer=letter, tier="letter"
        )
    if found is None:
        reason = "cut off inside the reasoning" if not split.closed else "no answer found"
        return verdict(NAME, VERSION, "unparseable", reason=reason)
    answer, form = found
    if s.first_tier:
        decided = first_tier.decide(answer, reference, s.float_rounding)
        if decided:
            return verdict(NAME, VERSION, decided, answer=answer[:200], form=form, tier="first")
    # Past the first tier's digits, sympy would spend its time (or fail on the int-string limit) on a
    # number no verdict can come of: settled here, never in the pool.
    settled: tuple[tuple[str, Status], ...] = ((reference, "reference_unparseable"), (answer, "unparseable"))
    for text, status in settled:
        if first_tier.too_long(text):
            why = f"a number of more than {first_tier.MAX_DIGITS:,} digits"
            return verdict(NAME, VERSION, status, answer=answer[:200], form=form, reason=why)
    return answer, reference


def verify_batch(items: list[Item], settings: MathSettings) -> list[Verdict]:
    from workers.verifiers.pool import shared_pool

    out: list[Verdict | None] = []
    slow: list[int] = []
    args: list[tuple] = []
    for item in items:
        t0 = time.perf_counter()
        first = _first(item, settings)
        if isinstance(first, Verdict):
            out.append(_timed(first, (time.perf_counter() - t0) * 1000))
        else:
            slow.append(len(out))
            args.append((*first, settings.float_rounding))
            out.append(None)
    if slow:
        for i, o in zip(slow, shared_pool().map(_SLOW, args, settings.timeout_s), strict=True):
            if o.status == "ok":
                status, detail = o.value
                out[i] = verdict(NAME, VERSION, status, o.duration_ms, **detail)
            elif o.status == "timeout":
                out[i] = verdict(NAME, VERSION, "timeout", o.duration_ms, timeout_s=settings.timeout_s)
            else:
                out[i] = verdict(NAME, VERSION, "error", o.duration_ms, error=o.value)
    return out  # type: ignore[return-value]


def references_parse(references: list[str | None], timeout_s: float = 5.0) -> list[bool]:
    """Whether each reference is something the math verifier can compare against (for import stats)."""
    from workers.verifiers.pool import shared_pool

    out: list[bool] = []
    slow: list[int] = []
    for ref in references:
        answer = extract.extract_reference(ref) if ref and ref.strip() else ""
        cheap = bool(answer) and (
            first_tier.number(first_tier.normalise(answer)) is not None
            or extract.choice_letter(answer) is not None
        )
        out.append(cheap)
        if answer and not cheap and not first_tier.too_long(answer):
            slow.append(len(out) - 1)
    if slow:
        outcomes = shared_pool().map(_REF_SLOW, [(references[i],) for i in slow], timeout_s)
        for i, o in zip(slow, outcomes, strict=True):
            out[i] = o.status == "ok" and bool(o.value)
    return out


def reference_parses(reference: str | None) -> bool:
    return references_parse([reference])[0]


def _timed(v: Verdict, ms: float) -> Verdict:
    from dataclasses import replace

    return replace(v, duration_ms=round(ms, 3))
