"""Selection: which accepted attempts of a prompt become training rows, and the preference pairs.

Pure functions over one prompt's attempts, so each policy is tested on its own; the snapshot stage
streams a run's attempts prompt by prompt through `select_prompt`.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field

from backend.datasets.admission import refusal
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
    finish_reason: str | None = None  # the teacher's, kept under a reviewer's edit (admission.refusal)
    reasoning_tokens: int | None = None  # generations.reasoning_tokens; None: written before it, or edited
    teacher_id: int | None = None  # who wrote it (rollout.teachers); None: unknown (a deleted run teacher)

    @property
    def length(self) -> int:
        return self.completion_tokens or len(self.reasoning or "") + len(self.content or "")

    @property
    def think_length(self) -> int:
        """The reasoning's tokens where recorded; else its characters / 4 (an edit, an older rollout)."""
        if self.reasoning_tokens is not None:
            return self.reasoning_tokens
        return -(-len(self.reasoning or "") // 4)


def shortest_verified(attempts: list[Attempt], budget: int, k: int | None) -> list[Attempt]:
    """The shortest verified traces within the budget: accepted attempts whose reasoning is at most
    `budget` tokens, shortest reasoning first (ties: the shorter whole attempt, then attempt order), at
    most k of them (k None: 1, the one shortest). An attempt over the budget is never kept, even when
    no other one passed."""
    within = [a for a in attempts if a.accepted and a.think_length <= budget]
    chosen = sorted(within, key=lambda a: (a.think_length, a.length, a.attempt))[: k or 1]
    return sorted(chosen, key=lambda a: a.attempt)


@dataclass
class Picked:
    rows: list[Attempt]
    pairs: list[tuple[Attempt, Attempt]]
    # how many accepted attempts were left after each filter (for the card's counts)
    accepted: int
    after_band: int
    after_near_duplicates: int
    after_cut: int = 0  # accepted attempts whose reasoning is whole
    cut: dict[str, int] = field(default_factory=dict)  # accepted attempts left out, by cut_reasoning's reason
    rejected_cut: int = 0  # rejected attempts with a cut reasoning: never a pair's rejected side


def cut_reasoning(a: Attempt) -> str | None:
    """Why an attempt may not be a row nor a pair (backend/datasets/admission.py's rules, the ones the
    train pre-flight applies too), or None. Such attempts are left out, never closed or mended:

    truncated  the teacher stopped at max_tokens (finish_reason "length"), whatever it wrote
    empty      no answer and no reasoning
    no_answer  reasoning and nothing after it, or an inline <think> that never closed
    """
    return refusal(reasoning=a.reasoning, content=a.content, finish_reason=a.finish_reason)


def shingles(text: str, n: int = 5) -> frozenset[int]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return frozenset({hash(tuple(words))}) if words else frozenset()
    # map and zip run in C: the same hashes as hashing each window's tuple in a Python loop, which took
    # two thirds of a snapshot's time at a million generations
    return frozenset(map(hash, zip(*(words[i:] for i in range(n)), strict=False)))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    both = len(a & b)
    return both / (len(a) + len(b) - both)  # the union's size without building it


def drop_near_duplicates(attempts: list[Attempt], threshold: float) -> list[Attempt]:
    """Keep the first of every group of attempts whose word 5-gram Jaccard reaches the threshold
    (attempts of one prompt are few, so pairwise is cheap)."""
    if len(attempts) < 2:  # nothing to compare: no shingles to compute
        return list(attempts)
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
    if settings.pick == "shortest_verified":
        assert settings.budget is not None  # SnapshotSettings refuses the policy without one
        return shortest_verified(attempts, settings.budget, settings.max_per_prompt)
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
    """One prompt's rows and pairs under the policy (attempts in attempt order). The pass-rate band
    reads the teacher's acceptance over all attempts; attempts with a cut reasoning then never become
    rows or pairs (counted by reason in `cut` and `rejected_cut`)."""
    accepted = [a for a in attempts if a.accepted or settings.include == "all"]
    rejected = [a for a in attempts if a.accepted is False]
    cut: dict[str, int] = {}
    whole = []
    for a in accepted:
        if (why := cut_reasoning(a)) is None:
            whole.append(a)
        else:
            cut[why] = cut.get(why, 0) + 1
    rejected_whole = [a for a in rejected if cut_reasoning(a) is None]
    rejected_cut = len(rejected) - len(rejected_whole)
    if not in_band(len(accepted), len(attempts), settings.pass_rate_band):
        return Picked([], [], len(accepted), 0, 0, len(whole), cut, rejected_cut)
    banded = whole
    unique = (
        drop_near_duplicates(banded, settings.near_duplicate_jaccard)
        if settings.drop_near_duplicates
        else banded
    )
    rows = pick(unique, settings, prompt_id)
    pairs: list[tuple[Attempt, Attempt]] = []
    if settings.preference_pairs and settings.include == "accepted" and rows and rejected_whole:
        for i in range(min(settings.pairs_per_prompt, len(rows), len(rejected_whole))):
            pairs.append((rows[i], rejected_whole[i]))
    return Picked(rows, pairs, len(accepted), len(banded), len(unique), len(whole), cut, rejected_cut)


def assistant_text(reasoning: str | None, content: str | None) -> str:
    """The assistant turn TRL trains on: the reasoning inside <think>...</think>, then the answer.
    Never a </think> after reasoning with no answer: that is a cut trace (cut_reasoning), refused here
    so that no caller can close one by mistake."""
    content = content or ""
    if not reasoning or "<think>" in content:
        return content
    if not content.strip():
        raise ValueError("reasoning with no answer after it: a cut trace is left out, never closed")
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{content.strip()}"
