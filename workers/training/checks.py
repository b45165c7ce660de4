"""Pre-flight checks on the exact tokenizer and training template, before the first step. Each names
what failed, how often, a few examples and what to fix; a recipe may waive one (override_checks), and
the waiver is recorded in the summary.

  eos_trained       every example's trained turn ends on an end-of-turn token (EOS, the generation_config
                    eos list or the template's marker) that is itself a target: anything trained after it
                    is only the template's own whitespace or further stop tokens (Qwen's "<|im_end|>\n",
                    Phi's "<|end|>\n<|endoftext|>")
  assistant_mask    at least one token of every example is trained (open-r1#710)
  reasoning_kept    the final turn's <think> block is in what is trained (the stock R1-Distill template
                    drops it from rendered turns)
  too_long          examples over max_length: excluded and counted, or the run refuses
  truncated_traces  no teacher attempt cut at max_tokens is in the data
  pad_token         the tokenizer has a pad token (tokens.choose_pad sets one first)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.core.errors import Invalid
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


def _result(name, bad: list, total: int, fix: str, overrides, shown=None) -> CheckResult:
    failed = bool(bad)
    return CheckResult(
        name=name,
        passed=not failed,
        overridden=failed and name in overrides,
        count=len(bad),
        total=total,
        examples=[str(x)[:300] for x in (shown if shown is not None else bad)[:SHOW]],
        fix=fix if failed else None,
    )


def _ends_on_stop(tokenizer, ids: list[int], mask: list[int], stops: set[int]) -> bool:
    trained = [t for t, b in zip(ids, mask, strict=True) if b]
    last = max((j for j, t in enumerate(trained) if t in stops), default=None)
    if last is None:
        return False
    rest = [t for t in trained[last + 1 :] if t not in stops]
    return not tokenizer.decode(rest, skip_special_tokens=False).strip()


def run_checks(
    tokenizer,
    enc: Encoded,
    conversations: list[list[dict]],
    *,
    row_ids: list[int],
    truncated: set[int],
    max_length: int | None,
    model_max: int | None,
    too_long: str,
    overrides: Sequence[str],
    stops: set[int],
    assistant_only: bool = True,
) -> Report:
    n = len(conversations)
    r = enc
    lengths = [len(x) for x in r.ids]
    results = []
    pad = tokenizer.pad_token_id
    results.append(
        _result(
            "pad_token",
            ["the tokenizer has no pad token"] if pad is None else [],
            1,
            "set a pad token in the student's tokenizer_config.json (pad_token)",
            overrides,
        )
    )
    if assistant_only:
        empty = [i for i, m in enumerate(r.masks) if not any(m)]
        results.append(
            _result(
                "assistant_mask",
                empty,
                n,
                "the final assistant turn renders no token to train on: the template must render the "
                "assistant's content",
                overrides,
                [f"row {row_ids[i]}: {r.texts[i][:200]!r}" for i in empty],
            )
        )
        no_eos = [
            i
            for i, (ids, m) in enumerate(zip(r.ids, r.masks, strict=True))
            if not _ends_on_stop(tokenizer, ids, m, stops)
        ]
        ends = ", ".join(tokenizer.convert_ids_to_tokens(sorted(stops)))
        results.append(
            _result(
                "eos_trained",
                no_eos,
                n,
                f"the student's template closes no final assistant turn with an end-of-turn token "
                f"({ends}), so the student would never learn to stop: give a train.chat_template that ends "
                "assistant turns the way the student is served",
                overrides,
                [f"row {row_ids[i]}: ...{r.texts[i][-120:]!r}" for i in no_eos],
            )
        )
    dropped = []
    for i, msgs in enumerate(conversations):
        final = msgs[-1] if msgs and msgs[-1]["role"] == "assistant" else None
        for block in THINK.findall((final or {}).get("content") or ""):
            if block.strip() and block.strip() not in r.targets[i]:
                dropped.append(i)
                break
    results.append(
        _result(
            "reasoning_kept",
            sorted(set(dropped)),
            n,
            "the final turn's <think> block is not in what is trained (a template that drops rendered "
            "reasoning, as R1-Distill's does, must open the block in its generation prompt): give a "
            "train.chat_template that keeps it",
            overrides,
            [f"row {row_ids[i]}: {r.texts[i][:200]!r}" for i in sorted(set(dropped))],
        )
    )
    cut = [rid for rid in row_ids if rid in truncated]
    results.append(
        _result(
            "truncated_traces",
            cut,
            n,
            "the teacher stopped these attempts at max_tokens: raise rollout.max_tokens, or filter them out",
            overrides,
            [f"generation {g}" for g in cut],
        )
    )
    if max_length is None:
        longest = max(lengths, default=16)
        max_length = min(-(-longest // 8) * 8, model_max) if model_max else -(-longest // 8) * 8
    over = [i for i, n_tok in enumerate(lengths) if n_tok > max_length]
    res = _result(
        "too_long",
        over,
        n,
        f"raise train.max_length above {max(lengths, default=0)} tokens, or set train.too_long to 'exclude'",
        overrides,
        [f"row {row_ids[i]}: {lengths[i]} tokens" for i in over],
    )
    if too_long == "exclude" and over:
        res.passed, res.fix = True, f"{len(over)} example(s) over {max_length} tokens excluded"
    results.append(res)
    keep = [i for i in range(n) if i not in set(over)]
    if not keep:
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
