"""Selection: which accepted attempts of a prompt become training rows, and the preference pairs.

Pure functions over one prompt's attempts, so each policy is tested on its own; the snapshot stage
streams a run's attempts prompt by prompt through `select_prompt`.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from backend.datasets.schemas import SnapshotSettings

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Attempt:
    generation_id: int
    attempt: int
    accepted: bool | None
    reasoning: str | None
    content: str | None
    completion_tokens: int | None
    judge_score: float | None = None  # the LLM judge's score, where the run has a judge stage

    @property
    def length(self) -> int:
        return self.completion_tokens or len(self.reasoning or "") + len(self.content or "")


@dataclass
class Picked:
    rows: list[Attempt]
    pairs: list[tuple[Attempt, Attempt]]
    # how many accepted attempts were left after each filter (for the card's counts)
    accepted: int
    after_band: int
    after_near_duplicates: int


def shingles(text: str, n: int = 5) -> frozenset[int]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return frozenset({hash(tuple(words))}) if words else frozenset()
    return frozenset(hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def drop_near_duplicates(attempts: list[Attempt], threshold: float) -> list[Attempt]:
    """Keep the first of every group of attempts whose word 5-gram Jaccard reaches the threshold
    (attempts of one prompt are few, so pairwise is cheap)."""
    kept: list[tuple[Attempt, frozenset[int]]] = []
    for a in attempts:
        sig = shingles(f"{a.reasoning or ''} {a.content or ''}")
        if all(jaccard(sig, other) < threshold for _, other in kept):
            kept.append((a, sig))
    return [a for a, _ in kept]


def in_band(accepted: int, total: int, band: tuple[float, float] | None) -> bool:
    if band is None:
        return True
    rate = accepted / total if total else 0.0
    return band[0] <= rate <= band[1]


def _rng(seed: int, prompt_id: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{prompt_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pick(attempts: list[Attempt], settings: SnapshotSettings, prompt_id: int) -> list[Attempt]:
    if settings.max_per_prompt is None or len(attempts) <= settings.max_per_prompt:
        return attempts
    if settings.pick == "shortest":
        chosen = sorted(attempts, key=lambda a: (a.length, a.attempt))[: settings.max_per_prompt]
    elif settings.pick == "judge_score":  # best-of-N; unscored attempts last, ties by length
        best = sorted(
            attempts, key=lambda a: (a.judge_score is None, -(a.judge_score or 0.0), a.length, a.attempt)
        )
        chosen = best[: settings.max_per_prompt]
    else:
        chosen = _rng(settings.seed, prompt_id).sample(attempts, settings.max_per_prompt)
    return sorted(chosen, key=lambda a: a.attempt)


def select_prompt(prompt_id: int, attempts: list[Attempt], settings: SnapshotSettings) -> Picked:
    """One prompt's rows and pairs under the policy (attempts in attempt order)."""
    accepted = [a for a in attempts if a.accepted or settings.include == "all"]
    rejected = [a for a in attempts if a.accepted is False]
    if not in_band(len(accepted), len(attempts), settings.pass_rate_band):
        return Picked([], [], len(accepted), 0, 0)
    banded = accepted
    unique = (
        drop_near_duplicates(banded, settings.near_duplicate_jaccard)
        if settings.drop_near_duplicates
        else banded
    )
    rows = pick(unique, settings, prompt_id)
    pairs: list[tuple[Attempt, Attempt]] = []
    if settings.preference_pairs and settings.include == "accepted" and rows and rejected:
        for i in range(min(settings.pairs_per_prompt, len(rows), len(rejected))):
            pairs.append((rows[i], rejected[i]))
    return Picked(rows, pairs, len(accepted), len(banded), len(unique))


def assistant_text(reasoning: str | None, content: str | None) -> str:
    """The assistant turn TRL trains on: the reasoning inside <think>...</think>, then the answer."""
    content = content or ""
    if not reasoning or "<think>" in content:
        return content
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{content.strip()}"
