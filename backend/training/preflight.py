"""The pre-flight checks' registry: what each check looks at, whether a recipe may waive it and which
methods it applies to. The worker's functions (workers/training/checks.py) register against these
names, and override_checks' allowed values come from here, so the names cannot drift apart; a test
checks both sides agree. Kept free of torch so the api validates recipes fast."""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("sft", "dpo", "grpo", "distill", "kd")


@dataclass(frozen=True)
class CheckKind:
    name: str
    help: str  # what it checks, shown with the report
    waivable: bool  # a recipe may list it in override_checks (recorded in the summary)
    methods: tuple[str, ...]  # the methods whose data it inspects


CHECK_KINDS: dict[str, CheckKind] = {
    c.name: c
    for c in [
        CheckKind(
            "pad_token",
            "The tokenizer has a pad token (tokens.choose_pad sets one first).",
            waivable=True,
            methods=METHODS,
        ),
        CheckKind(
            "assistant_mask",
            "At least one token of every example is trained (open-r1#710).",
            waivable=True,
            # DPO scores whole completions, GRPO and distill sample their own: no assistant mask
            methods=("sft", "kd"),
        ),
        CheckKind(
            "eos_trained",
            "Every example's trained turn ends on an end-of-turn token (EOS, the generation_config eos "
            "list or the template's marker) that is itself a target, so the student learns to stop.",
            waivable=True,
            methods=("sft", "kd"),
        ),
        CheckKind(
            "reasoning_kept",
            "The final turn's <think> block is in what is trained (the stock R1-Distill template drops "
            "it from rendered turns).",
            waivable=True,
            methods=("sft", "dpo", "kd"),  # grpo and distill train on prompts: no final turn to keep
        ),
        CheckKind(
            "truncated_traces",
            "No teacher attempt cut at max_tokens is in the data.",
            waivable=True,
            methods=("sft", "dpo", "kd"),
        ),
        CheckKind(
            "admission",
            "Every example passes the snapshot's admission rules (backend/datasets/admission.py): an "
            "answer, and one after its reasoning; the snapshot stage leaves out exactly these (cut at "
            "max_tokens is truncated_traces').",
            # what a snapshot never admits is never trained: no recipe waives it
            waivable=False,
            methods=("sft", "dpo", "kd"),
        ),
        CheckKind(
            "too_long",
            "No example is longer than max_length; over it they are excluded and counted, or the run "
            "refuses (train.too_long: that setting, not override_checks, decides).",
            # waiving it would only repeat too_long: exclude under another name
            waivable=False,
            methods=METHODS,
        ),
        # kd's own: the snapshot's teacher logprob cache (teacher_logprobs.parquet, the shared format)
        CheckKind(
            "teacher_logprobs",
            "The snapshot carries the teacher's top-K logprobs (teacher_logprobs.parquet) with a row for "
            "every example, K per token as its metadata says.",
            waivable=False,  # without a row there is no teacher distribution to learn
            methods=("kd",),
        ),
        CheckKind(
            "teacher_vocab",
            "The student's vocabulary is the teacher's (sha256 of the token to id map, not the names): the "
            "cached ids must mean the same strings.",
            waivable=False,  # other ids would teach the student another vocabulary's strings
            methods=("kd",),
        ),
        CheckKind(
            "teacher_tokens",
            "The teacher's tokens of each completion are the student's tokenization of its trained turn; "
            "examples where they differ are excluded and counted.",
            waivable=False,  # it excludes instead of refusing, as too_long does
            methods=("kd",),
        ),
    ]
}
CHECKS = tuple(CHECK_KINDS)
WAIVABLE = tuple(c.name for c in CHECK_KINDS.values() if c.waivable)


def checks_for(method: str) -> list[CheckKind]:
    """The checks that inspect a method's data, in the report's order."""
    return [c for c in CHECK_KINDS.values() if method in c.methods]
