"""Pre-flight checks on the exact tokenizer and training template, before the first step. Each names
what failed, how often, a few examples and what to fix; a recipe may waive one (override_checks), and
the waiver is recorded in the summary.

  eos_trained       every example ends its assistant turn on the end-of-turn token, and that token is a
                    training target (pad == eos masks it in collators that drop padding by id: the
                    student that never stops, open-r1#492)
  assistant_mask    the assistant mask covers at least one token of every example (open-r1#710)
  reasoning_kept    the <think> block survives rendering (the stock R1-Distill template drops it)
  too_long          examples over max_length: excluded and counted, or the run refuses
  truncated_traces  no teacher attempt cut at max_tokens is in the data
  pad_token         the tokenizer has a pad token
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backend.core.errors import Invalid
from backend.training.schemas import CheckResult

THINK = re.compile(r"<think>(.*?)</think>", re.S)
SHOW = 3  # examples shown per failed check


@dataclass
class Rendered:
    ids: list[list[int]]
    masks: list[list[int]]
    texts: list[str]


@dataclass
class Report:
    results: list[CheckResult]
    keep: list[int]  # example positions to train on
    max_length: int
    lengths: list[int] = field(default_factory=list)
    combo: object = None  # grpo: the verifiers that reward it

    @property
    def overrides(self) -> list[str]:
        return [r.name for r in self.results if r.overridden]

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and not r.overridden]


def render(tokenizer, template: str, conversations: list[list[dict]]) -> Rendered:
    out = Rendered([], [], [])
    for msgs in conversations:
        enc = tokenizer.apply_chat_template(
            msgs, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        out.ids.append(list(enc["input_ids"]))
        out.masks.append(list(enc.get("assistant_masks") or [0] * len(enc["input_ids"])))
        out.texts.append(tokenizer.apply_chat_template(msgs, chat_template=template, tokenize=False))
    return out


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


def end_tokens(tokenizer) -> set[int]:
    """The tokens that may end an assistant turn: EOS and the template's end-of-turn markers."""
    ids = {tokenizer.eos_token_id}
    for tok in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<｜end▁of▁sentence｜>"):
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id:
            ids.add(tid)
    return {i for i in ids if i is not None}


def run_checks(
    tokenizer,
    template: str,
    conversations: list[list[dict]],
    *,
    row_ids: list[int],
    truncated: set[int],
    max_length: int | None,
    model_max: int | None,
    too_long: str,
    overrides: list[str],
    assistant_only: bool = True,
) -> Report:
    n = len(conversations)
    r = render(tokenizer, template, conversations)
    lengths = [len(x) for x in r.ids]
    results = []
    pad = tokenizer.pad_token_id
    results.append(
        _result(
            "pad_token",
            ["the tokenizer has no pad token"] if pad is None else [],
            1,
            "set a pad token distinct from EOS in the tokenizer (tokenizer.pad_token)",
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
                "the template's {% generation %} markers cover no token: wrap the assistant content in them",
                overrides,
                [f"row {row_ids[i]}: {r.texts[i][:200]!r}" for i in empty],
            )
        )
        stops = end_tokens(tokenizer)
        no_eos = []
        for i, (ids, mask) in enumerate(zip(r.ids, r.masks, strict=True)):
            last = max((j for j, b in enumerate(mask) if b), default=None)
            if last is None or ids[last] not in stops or (pad is not None and ids[last] == pad):
                no_eos.append(i)
        results.append(
            _result(
                "eos_trained",
                no_eos,
                n,
                "the end-of-turn token must be inside {% generation %} and must not be the pad token "
                "(pad == eos masks it, and the student never learns to stop): set a distinct pad token",
                overrides,
                [f"row {row_ids[i]}: ...{r.texts[i][-120:]!r}" for i in no_eos],
            )
        )
    dropped = []
    for i, msgs in enumerate(conversations):
        for m in msgs:
            if m["role"] != "assistant":
                continue
            for block in THINK.findall(m["content"] or ""):
                if block.strip() and block.strip() not in r.texts[i]:
                    dropped.append(i)
                    break
    results.append(
        _result(
            "reasoning_kept",
            sorted(set(dropped)),
            n,
            "the template drops the <think> block (as the stock DeepSeek-R1-Distill template does): "
            "use TRL's training template for the family or train.chat_template that keeps it",
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
