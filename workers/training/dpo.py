"""DPO: TRL's DPOConfig + DPOTrainer on the snapshot's chosen/rejected pairs (an accepted and a rejected
attempt of the same prompt). The checks run on prompt + chosen and prompt + rejected as the student's
template renders them (the student's own); no assistant mask is needed, since DPO scores whole completions."""

from __future__ import annotations

from backend.training.schemas import DPOSettings
from workers.training import checks
from workers.training.config import common_args
from workers.training.data import SnapshotRef, load_config, truncated_generations
from workers.training.encode import encode_whole
from workers.training.templates import setup


def prepare(settings: DPOSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    ds = load_config(snap, "preference")
    convos, ids = [], []
    for row in ds:
        for side in ("chosen", "rejected"):
            convos.append(row["prompt"] + row[side])
            ids.append(row[f"{side}_id"])
    student = setup(tokenizer, settings.student, settings.chat_template, convos)
    report = checks.run_checks(
        tokenizer,
        encode_whole(tokenizer, student.template.text, convos),
        convos,
        row_ids=ids,
        truncated=truncated_generations(list(ds["chosen_id"])),
        max_length=settings.max_length,
        model_max=model_max,
        too_long=settings.too_long,
        overrides=settings.override_checks,
        method=settings.method,
        stops=student.stops,
    )
    report.info = student.info("template")
    keep_pairs = sorted(
        {i // 2 for i in report.keep} - {i // 2 for i in range(len(convos)) if i not in set(report.keep)}
    )
    report.keep, report.lengths = keep_pairs, [0] * len(ds)
    return ds.select(keep_pairs).select_columns(["prompt", "chosen", "rejected"]), report


def build(settings: DPOSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config):
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(**common_args(settings, output_dir), max_length=report.max_length, beta=settings.beta)
    return DPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )
