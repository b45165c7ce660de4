"""The shape of a reasoning completion: one closed reasoning block, not truncated, an answer after
it, lengths within bounds. Each failed check is named in the verdict's detail."""

from __future__ import annotations

import time

from backend.verifiers.settings import FormatSettings
from workers.verifiers import extract
from workers.verifiers.verdict import Item, Status, Verdict, verdict

NAME, VERSION = "format", "1"


def failures(item: Item, s: FormatSettings) -> list[str]:
    split = extract.split_reasoning(item.completion, item.reasoning)
    failed = []
    if item.finish_reason == "length":
        failed.append("truncated")
    if not split.closed:
        failed.append("reasoning_not_closed")
    if split.blocks > 1:
        failed.append("more_than_one_reasoning_block")
    reasoning = (split.reasoning or "").strip()
    if s.require_reasoning and not reasoning:
        failed.append("no_reasoning")
    elif reasoning and len(reasoning) < s.min_reasoning_chars:
        failed.append("reasoning_too_short")
    if s.max_reasoning_chars is not None and len(reasoning) > s.max_reasoning_chars:
        failed.append("reasoning_too_long")
    if len(split.answer.strip()) < s.min_answer_chars:
        failed.append("no_answer_after_reasoning")
    total = len(item.completion) + (len(item.reasoning) if item.reasoning else 0)
    if s.max_chars is not None and total > s.max_chars:
        failed.append("too_long")
    return failed


def verify_batch(items: list[Item], settings: FormatSettings) -> list[Verdict]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        failed = failures(item, settings)
        status: Status = "wrong" if failed else "passed"
        out.append(verdict(NAME, VERSION, status, (time.perf_counter() - t0) * 1000, failed=failed))
    return out
