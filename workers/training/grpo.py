"""GRPO: TRL's GRPOConfig + GRPOTrainer on the snapshot's prompts, rewarded by the project's verifiers.

The reward goes through verify_many, i.e. the verifier pool with its hard timeouts: TRL's own math
reward turns math-verify's timeout off outside the main thread, and a pathological completion would
then hang a training step."""

from __future__ import annotations

import logging

from backend.core.db import session_scope
from backend.runs.models import Run
from backend.training.schemas import GRPOSettings, TrainBase
from backend.verifiers.filter import FilterSettings
from backend.verifiers.registry import VerifierCombo
from workers.runner import settings_for
from workers.training import checks
from workers.training.config import common_args
from workers.training.data import SnapshotRef, load_config
from workers.training.encode import encode_whole
from workers.training.templates import setup

log = logging.getLogger(__name__)


def verifiers_for(run_id: int, snap: SnapshotRef) -> VerifierCombo:
    """The verifiers that filtered the snapshot's source run, else those of this run's recipe."""
    with session_scope() as s:
        source = s.get(Run, snap.run_id) if snap.run_id else None
        recipe = source.recipe if source is not None and "filter" in source.recipe.get("stages", []) else None
        recipe = recipe or s.get_one(Run, run_id).recipe
    return settings_for("filter", recipe, FilterSettings).verifiers


def zero_reward_share(scores: list[float], group: int) -> float | None:
    """The share of prompts whose every completion scored 0: GRPO learns nothing from such a group (its
    advantages are all 0). A prompt's completions are consecutive (TRL's RepeatSampler); None where the
    batch does not split into whole groups."""
    if not scores or len(scores) % group:
        return None
    groups = [scores[i : i + group] for i in range(0, len(scores), group)]
    return sum(all(x == 0 for x in g) for g in groups) / len(groups)


def reward_function(combo: VerifierCombo, num_generations: int):
    from workers.verifiers.verify import verify_many

    def verifier_reward(prompts, completions, reference=None, log_metric=None, **kwargs) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        refs = reference or [None] * len(texts)
        verdicts = verify_many(
            combo, [{"completion": t, "reference": r} for t, r in zip(texts, refs, strict=True)]
        )
        scores = [float(v.score) for v in verdicts]
        share = zero_reward_share(scores, num_generations)
        if log_metric is not None and share is not None:  # TRL averages it into the step's logs
            log_metric("zero_reward_groups", share)
        return scores

    verifier_reward.__name__ = f"verifiers_{combo.mode}_" + "_".join(v.name for v in combo.verifiers)
    return verifier_reward


def prompts_of(snap: SnapshotRef):
    """One row per prompt: its conversation up to the assistant turn and its reference."""
    ds = load_config(snap, "messages")
    seen, rows = set(), []
    for row in ds:
        if row["prompt_id"] in seen:
            continue
        seen.add(row["prompt_id"])
        rows.append(
            {
                "prompt": row["messages"][:-1],  # earlier assistant turns stay as context
                "reference": row["reference"],
                "prompt_id": row["prompt_id"],
            }
        )
    return rows


def checked_prompts(settings: TrainBase, snap: SnapshotRef, tokenizer, model_max: int | None):
    """The snapshot's prompts and the pre-flight checks' report on them, for the trainers that generate
    their own completions (GRPO, on-policy distillation); the tokenizer keeps the student's template."""
    rows = prompts_of(snap)
    prompts = [r["prompt"] for r in rows]
    student = setup(tokenizer, settings.student, settings.chat_template, prompts)
    report = checks.run_checks(
        tokenizer,
        encode_whole(tokenizer, student.template.text, prompts, prompts=True),
        prompts,
        row_ids=[r["prompt_id"] for r in rows],
        truncated=set(),
        max_length=settings.max_length,
        model_max=model_max,
        too_long=settings.too_long,
        overrides=settings.override_checks,
        method=settings.method,
        stops=student.stops,
    )
    report.info = student.info("template")
    return rows, report


def prepare(settings: GRPOSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    import datasets

    rows, report = checked_prompts(settings, snap, tokenizer, model_max)
    ds = datasets.Dataset.from_list(
        [{"prompt": rows[i]["prompt"], "reference": rows[i]["reference"]} for i in report.keep]
    )
    report.combo = verifiers_for(ctx.run_id, snap)
    return ds, report


def build(settings: GRPOSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config):
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        **common_args(settings, output_dir),
        num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        beta=settings.beta,
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=[reward_function(report.combo, settings.num_generations)],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )
