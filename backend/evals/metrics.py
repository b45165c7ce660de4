"""Scores of an evaluation from per-sample results: pass@1, unbiased pass@k, maj@k, bootstrap
intervals. Pure functions over {prompt: [(answer, passed), ...]}, tested on hand-computed values."""

from __future__ import annotations

from collections import Counter
from math import comb
from typing import Any

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """The Codex paper's unbiased estimator: 1 - C(n - c, k) / C(n, k) for n samples, c correct."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority_correct(samples: list[tuple[str | None, bool]]) -> bool:
    """Whether the most common stated answer is a correct one (ties: the first answer seen wins)."""
    answers = [a for a, _ in samples if a is not None]
    if not answers:
        return False
    top = Counter(answers).most_common(1)[0][0]
    return any(ok for a, ok in samples if a == top)


def bootstrap_ci(values: list[float], *, resamples: int, seed: int) -> list[float]:
    """Percentile 95% interval of the mean over prompts, from a seeded resampling."""
    if not values:
        return [0.0, 0.0]
    a = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, len(a), size=(resamples, len(a)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def score(per_prompt: dict[int, list[tuple[str | None, bool]]], *, resamples: int, seed: int) -> dict:
    """pass@1 (mean share correct), its interval, pass@k and maj@k with k the samples per prompt."""
    if not per_prompt:
        return {"pass_at_1": 0.0, "pass_at_1_ci": [0.0, 0.0], "pass_at_k": 0.0, "maj_at_k": 0.0}
    k = min(len(s) for s in per_prompt.values())
    shares = [sum(ok for _, ok in s) / len(s) for s in per_prompt.values()]
    return {
        "pass_at_1": round(float(np.mean(shares)), 4),
        "pass_at_1_ci": bootstrap_ci(shares, resamples=resamples, seed=seed),
        "pass_at_k": round(
            float(np.mean([pass_at_k(len(s), sum(ok for _, ok in s), k) for s in per_prompt.values()])), 4
        ),
        "maj_at_k": round(float(np.mean([majority_correct(s) for s in per_prompt.values()])), 4),
    }


def reasoning_length_report(samples: list[tuple[int | None, bool]], *, bins: int, cutoffs: list[int]) -> dict:
    """Accuracy against reasoning length over (think tokens, passed) samples: a histogram of the think
    tokens of passing and failing answers (equal bins from 0 to the longest), and the accuracy at each
    budget cut-off, where an answer whose reasoning is longer than the cut-off counts as a failure (what
    a budget would have cost). Samples of unknown length are counted apart, in no bin."""
    known = [(t, ok) for t, ok in samples if t is not None]
    top = max((t for t, _ in known), default=0)
    edges = [round(top * i / bins) for i in range(bins + 1)] if known else []
    passing, failing = [0] * (bins if known else 0), [0] * (bins if known else 0)
    for t, ok in known:
        i = min(int(t * bins / top), bins - 1) if top else 0
        (passing if ok else failing)[i] += 1
    at_budget = [
        {
            "budget": b,
            "accuracy": round(sum(ok and t <= b for t, ok in known) / len(known), 4) if known else 0.0,
            "within": sum(t <= b for t, _ in known),
        }
        for b in sorted(cutoffs)
    ]
    return {
        "edges": edges,
        "passing": passing,
        "failing": failing,
        "at_budget": at_budget,
        "unknown": len(samples) - len(known),
    }


def paired_difference(
    a: dict[int, float], b: dict[int, float], *, resamples: int, seed: int
) -> dict[str, Any]:
    """a minus b over the prompts both answered (each a per-prompt share correct), with a paired
    bootstrap 95% interval: the same prompts are drawn for both, so the prompts' own difficulty, which
    both models share, does not widen the interval as two separate intervals would."""
    common = sorted(set(a) & set(b))
    if not common:
        return {"difference": None, "ci": None, "prompts": 0}
    diffs = [a[p] - b[p] for p in common]
    return {
        "difference": round(float(np.mean(diffs)), 4),
        "ci": bootstrap_ci(diffs, resamples=resamples, seed=seed),
        "prompts": len(common),
    }
