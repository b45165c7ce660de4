"""Pre-flight checks on the exact tokenizer and training template, before the first step. Each is a
small function registered under its name in backend/training/preflight.py's registry (what it checks,
whether it may be waived, the methods it applies to); each names what failed, how often, a few
examples and what to fix. A recipe may waive a waivable one (override_checks), and the waiver is
recorded in the summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.core.errors import Invalid
from backend.datasets.admission import refusal
from backend.training.preflight import CHECK_KINDS, checks_for
from backend.training.schemas import CheckResult
from workers.training.encode import Encoded

THINK = re.compile(r"<think>(.*?)</think>", re.S)
SHOW = 3  # examples shown per failed check


@dataclass
class Report:
    results: list[CheckResult]
    keep: list[int]  # example positions to train on
    max_length: int
    lengths: list[int] = field(default_factory=list)
    combo: object = None  # grpo: the verifiers that reward it
    info: dict = field(default_factory=dict)  # template, pad and a sample, for the summary

    @property
    def overrides(self) -> list[str]:
        return [r.name for r in self.results if r.overridden]

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and not r.overridden]


@dataclass
class Inputs:
    """What every check may look at: the encoded examples and where they came from."""

    tokenizer: Any  # a transformers tokenizer
    enc: Encoded
    conversations: list[list[dict]]
    row_ids: list[int]
    truncated: set[int]
    stops: set[int]
    lengths: list[int]
    max_length: int
    too_long: str
    teacher: Any = None  # kd: the teacher logprob cache as scanned (kd_cache.TeacherView)


@dataclass
class Found:
    """A check's finding: the offending examples (empty: passed), what to show of them, the fix."""

    bad: list
    fix: str
    shown: list | None = None
    passed: bool | None = None  # set where a failure is handled without a waiver (too_long: exclude)
    total: int | None = None  # what was checked where not every example (pad_token: the tokenizer)
    excluded: bool = False  # the bad examples (positions) are left out of training, not refused


CheckFn = Callable[[Inputs], Found]
FUNCTIONS: dict[str, CheckFn] = {}


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check's function under its registry name (a name the registry lacks fails at import)."""
    if name not in CHECK_KINDS:
        raise KeyError(f"{name!r} is not in backend/training/preflight.py's CHECK_KINDS")

    def register(fn: CheckFn) -> CheckFn:
        FUNCTIONS[name] = fn
        return fn

    return register


@check("pad_token")
def pad_token(x: Inputs) -> Found:
    bad = ["the tokenizer has no pad token"] if x.tokenizer.pad_token_id is None else []
    return Found(bad, "set a pad token in the student's tokenizer_config.json (pad_token)", total=1)


@check("assistant_mask")
def assistant_mask(x: Inputs) -> Found:
    empty = [i for i, m in enumerate(x.enc.masks) if not any(m)]
    return Found(
        empty,
        "the final assistant turn renders no token to train on: the template must render the "
        "assistant's content",
        [f"row {x.row_ids[i]}: {x.enc.texts[i][:200]!r}" for i in empty],
    )


@check("eos_trained")
def eos_trained(x: Inputs) -> Found:
    no_eos = [
        i
        for i, (ids, m) in enumerate(zip(x.enc.ids, x.enc.masks, strict=True))
        if not _ends_on_stop(x.tokenizer, ids, m, x.stops)
    ]
    ends = ", ".join(x.tokenizer.convert_ids_to_tokens(sorted(x.stops)))
    return Found(
        no_eos,
        f"the student's template closes no final assistant turn with an end-of-turn token "
        f"({ends}), so the student would never learn to stop: give a train.chat_template that ends "
        "assistant turns the way the student is served",
        [f"row {x.row_ids[i]}: ...{x.enc.texts[i][-120:]!r}" for i in no_eos],
    )


def _ends_on_stop(tokenizer, ids: list[int], mask: list[int], stops: set[int]) -> bool:
    # anything trained after the last stop may only be the template's whitespace or further stops
    # (Qwen's "<|im_end|>\n", Phi's "<|end|>\n<|endoftext|>")
    trained = [t for t, b in zip(ids, mask, strict=True) if b]
    last = max((j for j, t in enumerate(trained) if t in stops), default=None)
    if last is None:
        return False
    rest = [t for t in trained[last + 1 :] if t not in stops]
    return not tokenizer.decode(rest, skip_special_tokens=False).strip()


@check("reasoning_kept")
def reasoning_kept(x: Inputs) -> Found:
    dropped = []
    for i, msgs in enumerate(x.conversations):
        final = msgs[-1] if msgs and msgs[-1]["role"] == "assistant" else None
        for block in THINK.findall((final or {}).get("content") or ""):
            if block.strip() and block.strip() not in x.enc.targets[i]:
                dropped.append(i)
                break
    return Found(
        dropped,
        "the final turn's <think> block is not in what is trained (a template that drops rendered "
        "reasoning, as R1-Distill's does, must open the block in its generation prompt): give a "
        "train.chat_template that keeps it",
        [f"row {x.row_ids[i]}: {x.enc.texts[i][:200]!r}" for i in dropped],
    )


@check("truncated_traces")
def truncated_traces(x: Inputs) -> Found:
    cut = [rid for rid in x.row_ids if rid in x.truncated]
    return Found(
        cut,
        "the teacher stopped these attempts at max_tokens: raise rollout.max_tokens, or filter them out",
        [f"generation {g}" for g in cut],
    )


@check("admission")
def admission(x: Inputs) -> Found:
    # the final turn as the snapshot wrote it (reasoning inline in <think>); cut at max_tokens is
    # truncated_traces' finding, so each example fails one check for one reason
    why = {
        i: refusal(reasoning=None, content=(msgs[-1].get("content") if msgs else None), finish_reason=None)
        for i, msgs in enumerate(x.conversations)
    }
    bad = [i for i, r in why.items() if r is not None]
    return Found(
        bad,
        "the snapshot's admission rules refuse these (backend/datasets/admission.py): snapshot again, "
        "the snapshot stage leaves them out",
        [f"row {x.row_ids[i]}: {why[i]}" for i in bad],
    )


@check("too_long")
def too_long(x: Inputs) -> Found:
    over = [i for i, n_tok in enumerate(x.lengths) if n_tok > x.max_length]
    shown = [f"row {x.row_ids[i]}: {x.lengths[i]} tokens" for i in over]
    if x.too_long == "exclude" and over:
        return Found(over, f"{len(over)} example(s) over {x.max_length} tokens excluded", shown, passed=True)
    longest = max(x.lengths, default=0)
    return Found(
        over, f"raise train.max_length above {longest} tokens, or set train.too_long to 'exclude'", shown
    )


def _result(name: str, found: Found, total: int, overrides) -> CheckResult:
    failed = bool(found.bad) and not found.passed
    shown = found.shown if found.shown is not None else found.bad
    return CheckResult(
        name=name,
        help=CHECK_KINDS[name].help,
        passed=not failed,
        overridden=failed and name in overrides,
        count=len(found.bad),
        total=total if found.total is None else found.total,
        examples=[str(x)[:300] for x in shown[:SHOW]],
        fix=found.fix if found.bad else None,
    )


def run_checks(
    tokenizer,
    enc: Encoded,
    conversations: list[list[dict]],
    *,
    method: str,
    row_ids: list[int],
    truncated: set[int],
    max_length: int | None,
    model_max: int | None,
    too_long: str,
    overrides: Sequence[str],
    stops: set[int],
    teacher: Any = None,
) -> Report:
    """Every registered check that applies to the method, in the registry's order."""
    n = len(conversations)
    lengths = [len(x) for x in enc.ids]
    if max_length is None:
        longest = max(lengths, default=16)
        max_length = min(-(-longest // 8) * 8, model_max) if model_max else -(-longest // 8) * 8
    x = Inputs(
        tokenizer, enc, conversations, row_ids, truncated, stops, lengths, max_length, too_long, teacher
    )
    found = {c.name: FUNCTIONS[c.name](x) for c in checks_for(method)}
    results = [_result(name, f, n, overrides) for name, f in found.items()]
    over = {i for i, n_tok in enumerate(lengths) if n_tok > max_length}
    left_out = {i for f in found.values() if f.excluded for i in f.bad}
    keep = [i for i in range(n) if i not in over and i not in left_out]
    if not keep:
        if left_out:
            why = "; ".join(f"{k}: {len(f.bad)}" for k, f in found.items() if f.excluded and f.bad)
            raise Invalid(f"no example is left to train ({why} excluded)", code="check_failed")
        raise Invalid(f"every example is longer than max_length {max_length}", code="check_failed")
    return Report(results, keep, max_length, lengths)


def refuse_if_failed(report: Report) -> None:
    """A user error with each failed check's counts, examples and fix; nothing is trained."""
    if report.failures:
        parts = [
            f"{c.name}: {c.count} of {c.total} example(s) fail ({'; '.join(c.examples)}); fix: {c.fix}"
            for c in report.failures
        ]
        raise Invalid("pre-flight checks failed, nothing trained. " + " | ".join(parts), code="check_failed")


# kd's checks of the teacher logprob cache live beside the cache's reader; imported here, last, so that
# importing this module registers every check of the registry (a test compares both sides)
from workers.training import kd_checks  # noqa: E402, F401
