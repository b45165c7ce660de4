"""The train/eval split of a prompt set: a deterministic side for each prompt, from its text hash."""

from __future__ import annotations

from hashlib import blake2b

from backend.prompts.schemas import CleaningOptions


def split_of(text_hash: str, eval_ratio: float, seed: str = "") -> str:
    """'eval' for about eval_ratio of hashes, else 'train': a function of (seed, hash) alone."""
    if eval_ratio <= 0:
        return "train"
    x = int.from_bytes(blake2b((seed + text_hash).encode(), digest_size=8).digest(), "big") / 2**64
    return "eval" if x < eval_ratio else "train"


def split_column(hashes: list[str], options: CleaningOptions) -> list[str]:
    """The split of each prompt, from its text hash."""
    ratio, seed = options.eval_ratio, options.split_seed
    return [split_of(h, ratio, seed) for h in hashes] if ratio else ["train"] * len(hashes)
