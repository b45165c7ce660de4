"""Render a rubric for one attempt, and read a score out of the judge's reply, whatever its shape."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

FIELDS = ("question", "reference", "reasoning", "answer")
_SLOT = re.compile(r"\{(\w+)\}")
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)
_OBJECT = re.compile(r"\{[^{}]*\}", re.S)
_SCORE = re.compile(r"(?i)\b(?:score|rating|grade)\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)")
_VERDICT = re.compile(r"(?i)\b(?:verdict|decision|result)\s*[:=]\s*\**\s*(pass|fail|yes|no|accept|reject)")
_TRUE = {"pass", "yes", "accept", "true", "correct"}
_FALSE = {"fail", "no", "reject", "false", "incorrect"}


def placeholders(template: str) -> set[str]:
    return set(_SLOT.findall(template))


def render(template: str, **values: str | None) -> str:
    """Fill the known placeholders; braces that are not one of them (a JSON example) stay as written."""

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name not in FIELDS:
            return m.group(0)
        return values.get(name) or ("(none)" if name == "reference" else "")

    return _SLOT.sub(fill, template)


@dataclass(frozen=True)
class Reading:
    score: float | None  # None: nothing on the scale could be read
    rationale: str
    how: str  # json | fenced_json | embedded_json | labelled | none


def _from_object(obj: object, scale: str) -> float | None:
    if not isinstance(obj, dict):
        return None
    for key in ("score", "rating", "grade", "verdict", "pass", "passed", "decision"):
        if key in obj:
            return _value(obj[key], scale)
    return None


def _value(v: object, scale: str) -> float | None:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return 1.0
        if s in _FALSE:
            return 0.0
        try:
            return float(s)
        except ValueError:
            return None
    return None


def _rationale(obj: object, text: str) -> str:
    if isinstance(obj, dict):
        for key in ("rationale", "reason", "reasoning", "explanation"):
            if isinstance(obj.get(key), str):
                return obj[key][:4000]
    return text.strip()[:4000]


def read_reply(text: str | None, *, scale: str, lo: float, hi: float) -> Reading:
    """The score on [lo, hi] (pass/fail as 1/0) and the rationale; a score off the scale is no score."""
    text = text or ""
    candidates: list[tuple[str, str]] = [("json", text.strip())]
    candidates += [("fenced_json", m) for m in _FENCE.findall(text)]
    candidates += [("embedded_json", m) for m in _OBJECT.findall(text)]
    for how, chunk in candidates:
        try:
            obj = orjson.loads(chunk)
        except orjson.JSONDecodeError:
            continue
        score = _from_object(obj, scale)
        if score is not None:
            return _checked(score, _rationale(obj, text), how, lo, hi)
    m = _SCORE.search(text) or _VERDICT.search(text)
    if m:
        score = _value(m.group(1), scale)
        if score is not None:
            return _checked(score, text.strip()[:4000], "labelled", lo, hi)
    return Reading(None, text.strip()[:4000], "none")


def _checked(score: float, rationale: str, how: str, lo: float, hi: float) -> Reading:
    if not lo <= score <= hi:
        return Reading(None, f"score {score:g} is off the scale [{lo:g}, {hi:g}]: {rationale}"[:4000], how)
    return Reading(score, rationale, how)
