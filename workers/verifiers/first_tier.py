"""The cheap first tier of the math verifier: normalised strings, then exact numbers (integers,
fractions, decimals, percents, thousands separators). It answers only where it is sure; anything
else goes on to math-verify.

Numbers are read through Decimal, never int(str): Python refuses to turn a string of more than 4,300
digits into an int (a ValueError that took the whole batch with it), and the conversion is quadratic.
Decimal reads a digit string in linear time and hands Fraction its value without a string; past
MAX_DIGITS digits in one run, a text is too long to compare at all (`too_long`), and math.py settles it
without sympy."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

Decision = Literal["passed", "wrong"] | None

_DROP = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\ |\^\{?\\circ\}?|\\displaystyle|\s+")
_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_ASSIGN = re.compile(r"^[a-zA-Z]=(?=.)")
_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SLASH = re.compile(r"([+-]?\d+)/(\d+)")
_FRAC = re.compile(r"([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}")
_FRAC_SHORT = re.compile(r"([+-]?)\\frac(\d)(\d)")
MAX_DIGITS = 20_000  # a run of more digits is no number the verifiers compare (20k digits: ~15 ms)
_TOO_LONG = re.compile(rf"(?<!\d)\d{{{MAX_DIGITS + 1}}}")  # tried at the start of each run only


def too_long(text: str) -> bool:
    """Whether the text holds a run of more than MAX_DIGITS digits."""
    return len(text) > MAX_DIGITS and _TOO_LONG.search(text) is not None


def normalise(s: str) -> str:
    s = _unwrap(s.strip())
    s = _TEXT.sub(r"\1", s)
    s = _DROP.sub("", s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\%", "%")
    s = s.replace("{,}", ",").rstrip(".")
    return _ASSIGN.sub("", s)


def _unwrap(s: str) -> str:
    """The inside of `$...$`, `$$...$$`, `\\(...\\)` or `\\[...\\]` (any opening with any closing), else s.
    Done by hand: the regex it replaces backtracked cubically on a run of dollar signs."""
    if s.startswith(("\\(", "\\[")):
        opening = 2
    elif s.startswith("$"):
        opening = len(s) - len(s.lstrip("$"))
    else:
        return s
    if s.endswith(("\\)", "\\]")):
        closing = 2
    elif s.endswith("$"):
        closing = len(s) - len(s.rstrip("$"))
    else:
        return s
    if opening == len(s):  # all dollar signs: the regex gave "" for two or more
        return "" if len(s) > 1 else s
    return s[opening : len(s) - closing] if opening + closing <= len(s) else s


def number(s: str) -> tuple[Fraction, bool] | None:
    """(value, is_percent) of a normalised plain number, or None (also where it is too long)."""
    if too_long(s):
        return None
    pct = s.endswith("%")
    if pct:
        s = s[:-1]
    if s.startswith("$"):  # a currency sign, once the maths wrapper is gone
        s = s[1:]
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    try:
        if _INT.fullmatch(s) or _DEC.fullmatch(s):
            return _exact(s), pct
        m = _SLASH.fullmatch(s)
        if m:
            return _ratio("", m.group(1), m.group(2)), pct
        m = _FRAC.fullmatch(s) or _FRAC_SHORT.fullmatch(s)
        if m:
            return _ratio(*m.groups()), pct
    except (ZeroDivisionError, InvalidOperation, ValueError):
        return None
    return None


def _exact(digits: str) -> Fraction:
    """The exact value of a plain integer or decimal string, without int(str) (see the top)."""
    return Fraction(Decimal(digits))


def _ratio(sign: str, num: str, den: str) -> Fraction:
    value = _exact(num) / _exact(den)
    return -value if sign == "-" else value


def decide(answer: str, reference: str, float_rounding: int = 6) -> Decision:
    """passed / wrong where plain strings or plain numbers settle it; None to ask math-verify."""
    a, r = normalise(answer), normalise(reference)
    if a == r and a:
        return "passed"
    na, nr = number(a), number(r)
    if na is None or nr is None:
        return None
    (va, pa), (vr, pr) = na, nr
    # "50%" may be written for 50 or for 0.5: either reading counts
    readings_a = [va, va / 100] if pa else [va]
    readings_r = [vr, vr / 100] if pr else [vr]
    if any(x == y for x in readings_a for y in readings_r):
        return "passed"
    # math-verify calls numbers equal once rounded: leave near misses to it
    if any(round(x, float_rounding) == round(y, float_rounding) for x in readings_a for y in readings_r):
        return None
    return "wrong"
