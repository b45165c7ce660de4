"""Exact, normalised and regular-expression matches of the answer."""

from __future__ import annotations

import re
import time

from backend.verifiers.settings import MatchSettings, RegexSettings
from workers.verifiers import extract, first_tier
from workers.verifiers.verdict import Item, Status, Verdict, verdict

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
        status: Status
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


_REGEX_ONE = "workers.verifiers.exact:regex_match"


def regex_match(pattern: str, flags: int, fullmatch: bool, target: str) -> str | None:
    """One match, in a pool worker: the matched text (at most 200 characters) or None. The `regex`
    module caches the compiled pattern, so a batch compiles it once per worker."""
    import regex

    compiled = regex.compile(pattern, flags)
    m = (compiled.fullmatch if fullmatch else compiled.search)(target)
    return m.group(0)[:200] if m else None


def verify_regex(items: list[Item], settings: RegexSettings) -> list[Verdict]:
    # In the hard-timeout pool (workers/verifiers/pool.py): a catastrophic pattern is SIGKILLed at
    # timeout_s. The `regex` module's own timeout is checked only now and then inside the engine and
    # overran a 1 s limit by half again or more on a busy host.
    import regex

    from workers.verifiers.pool import shared_pool

    flags = regex.IGNORECASE if settings.ignore_case else 0
    args = []
    for item in items:
        if settings.target == "answer":
            target = extract.split_reasoning(item.completion, item.reasoning).answer.strip()
        else:
            target = item.completion
        args.append((settings.pattern, flags, settings.fullmatch, target))
    out = []
    for o in shared_pool().map(_REGEX_ONE, args, settings.timeout_s):
        if o.status == "timeout":
            out.append(verdict("regex", VERSION, "timeout", o.duration_ms, timeout_s=settings.timeout_s))
        elif o.status == "error":
            out.append(verdict("regex", VERSION, "error", o.duration_ms, error=o.value))
        elif o.value is None:
            out.append(verdict("regex", VERSION, "wrong", o.duration_ms))
        else:
            out.append(verdict("regex", VERSION, "passed", o.duration_ms, match=o.value))
    return out
