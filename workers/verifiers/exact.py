"""Exact, normalised and regular-expression matches of the answer."""

from __future__ import annotations

import re
import time

from backend.verifiers.settings import MatchSettings, RegexSettings
from workers.verifiers import extract, first_tier
from workers.verifiers.verdict import Item, Verdict, verdict

VERSION = "1"
_PUNCT_ENDS = re.compile(r"^[\s\"'`.,;:!?*]+|[\s\"'`.,;:!?*]+$")


def _answer(item: Item, use_extract: bool) -> str:
    text = extract.split_reasoning(item.completion, item.reasoning).answer
    if use_extract:
        found = extract.extract_answer(text)
        if found:
            return found[0]
    return text.strip()


def normalise_text(s: str) -> str:
    s = first_tier.normalise(s) if s.strip().startswith(("$", "\\(", "\\[")) else s
    return " ".join(_PUNCT_ENDS.sub("", s).casefold().split())


def _match(items: list[Item], s: MatchSettings, name: str, norm) -> list[Verdict]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        if item.reference is None:
            out.append(verdict(name, VERSION, "reference_unparseable", reason="no reference"))
            continue
        answer = _answer(item, s.extract)
        if not answer:
            status = "unparseable"
        else:
            status = "passed" if norm(answer) == norm(item.reference) else "wrong"
        out.append(verdict(name, VERSION, status, (time.perf_counter() - t0) * 1000, answer=answer[:200]))
    return out


def verify_exact(items: list[Item], settings: MatchSettings) -> list[Verdict]:
    return _match(items, settings, "exact", str.strip)


def verify_normalised(items: list[Item], settings: MatchSettings) -> list[Verdict]:
    return _match(items, settings, "normalised", normalise_text)


def verify_regex(items: list[Item], settings: RegexSettings) -> list[Verdict]:
    # The `regex` module takes a timeout per call, so a catastrophic pattern cannot stall the stage.
    import regex

    pattern = regex.compile(settings.pattern, regex.IGNORECASE if settings.ignore_case else 0)
    run = pattern.fullmatch if settings.fullmatch else pattern.search
    out = []
    for item in items:
        t0 = time.perf_counter()
        if settings.target == "answer":
            target = extract.split_reasoning(item.completion, item.reasoning).answer.strip()
        else:
            target = item.completion
        try:
            m = run(target, timeout=settings.timeout_s)
        except TimeoutError:
            out.append(verdict("regex", VERSION, "timeout", (time.perf_counter() - t0) * 1000))
            continue
        status = "passed" if m else "wrong"
        detail = {"match": m.group(0)[:200]} if m else {}
        out.append(verdict("regex", VERSION, status, (time.perf_counter() - t0) * 1000, **detail))
    return out
