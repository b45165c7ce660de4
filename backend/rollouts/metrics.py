"""The rollout stage's live metrics, summed over its chunks' counters."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session

from backend.prompts.models import Prompt
from backend.rollouts.schemas import RolloutSettings
from backend.runs.chunks import chunk_totals
from backend.runs.models import RunStage


def split_filter(settings: RolloutSettings) -> ColumnElement[bool]:
    """The WHERE clause for the split a rollout covers."""
    return true() if settings.split == "all" else Prompt.split == settings.split


def covered_positions(prompt_set_id: int, settings: RolloutSettings) -> Select:
    """The prompt positions a rollout covers, ascending: what rollout, filter and judge chunk."""
    return (
        select(Prompt.position)
        .where(Prompt.prompt_set_id == prompt_set_id, split_filter(settings))
        .order_by(Prompt.position)
    )


COUNTERS = ("done", "failed", "truncated", "cached", "prompt_tokens", "completion_tokens", "logprobs",
            "logprobs_missing")  # fmt: skip


def aggregate(session: Session, *, stage: RunStage) -> dict[str, Any]:
    """The stage's live metrics (RolloutSummary), summed over its chunks' counters."""
    totals, statuses = chunk_totals(session, stage_id=stage.id)
    sums: dict[str, Any] = {k: int(totals.get(k, 0)) for k in COUNTERS}
    sums["cost_usd"] = float(totals.get("cost_usd", 0.0))
    sums["gpu_seconds"] = float(totals.get("gpu_seconds", 0.0))
    failures = Counter(totals.get("failures") or {})
    skipped = int(totals.get("skipped", 0))
    cost = sums["cost_usd"]
    elapsed = max(stage.running_seconds(), 1e-6)
    generated = sums["done"] - sums["cached"]
    return {
        "partly_failed": _failed_note(sums["failed"], sums["done"] + sums["failed"], failures),
        "generations": sums["done"] + sums["failed"],
        "succeeded": sums["done"],
        "failed": sums["failed"],
        "truncated": sums["truncated"],
        "from_cache": sums["cached"],
        "failures": dict(failures.most_common()),
        "prompt_tokens": sums["prompt_tokens"],
        "completion_tokens": sums["completion_tokens"],
        "tokens_per_s": round(sums["completion_tokens"] / elapsed, 1),
        "completions_per_s": round(generated / elapsed, 2),
        "cost_usd": round(cost, 6),
        "gpu_seconds": round(sums["gpu_seconds"], 2),
        "elapsed_s": round(elapsed, 1),
        "chunks": statuses,
        "attempts_skipped": skipped,
        "cost_saved_usd": round(cost / generated * skipped, 6) if generated and skipped else 0.0,
        "smoke": (stage.metrics or {}).get("smoke"),  # stored once by the sample's judge, kept through
        "logprobs": sums["logprobs"],
        "logprobs_missing": sums["logprobs_missing"],
        "logprobs_note": _logprobs_note(sums["logprobs"], sums["logprobs_missing"]),
        "teachers": {k: int(v) for k, v in sorted((totals.get("teachers") or {}).items()) if v},
    }


def _logprobs_note(stored: int, missing: int) -> str | None:
    """Why the summary's logprob count falls short: the teacher gave none (an API without them, or
    whose tokens are strings, not the teacher tokenizer's ids)."""
    if not missing:
        return None
    if not stored:
        return (f"logprobs unavailable: the teacher returned none for all {missing} attempts (an API "
                "that gives no logprobs, or not as token ids)")  # fmt: skip
    return f"logprobs missing for {missing} of {stored + missing} attempts: the teacher returned none"


def _failed_note(failed: int, total: int, failures: Counter) -> str | None:
    if not failed:
        return None
    causes = ", ".join(f"{cause}: {k}" for cause, k in failures.most_common(3))
    return f"{failed} of {total} attempts failed ({causes})"


def failure_cause(metrics: dict[str, Any], settings: RolloutSettings) -> str | None:
    """Why a rollout whose chunks all finished fails after all: every attempt failed, or more than
    the recipe's max_failed_share did. None: it succeeded (partly_failed says what did not)."""
    failed, total = metrics["failed"], metrics["generations"]
    if not total or not failed:
        return None
    note = metrics.get("partly_failed") or f"{failed} of {total} attempts failed"
    if failed == total:
        return f"every attempt failed: {note}"
    share = settings.max_failed_share
    if share is not None and failed / total > share:
        return f"{note}, over the recipe's max_failed_share of {share:g}"
    return None
