"""SFT: TRL's SFTConfig + SFTTrainer on the snapshot's conversations, pre-tokenized by encode.py (the
prompt as the student is served it, loss on the final assistant turn only, labels by position), after
the pre-flight checks on exactly those tokens."""

from __future__ import annotations

from backend.training.schemas import SFTSettings
from workers.training import checks, encode
from workers.training.config import common_args
from workers.training.data import SnapshotRef, load_config, truncated_generations
from workers.training.templates import setup


def run_checks(settings, tokenizer, enc, convos, ids, model_max, student, teacher=None) -> checks.Report:
    """The pre-flight report of SFT's encoding (kd's too: the same data, with its teacher cache's view)."""
    report = checks.run_checks(
        tokenizer,
        enc,
        convos,
        row_ids=ids,
        truncated=truncated_generations(ids),
        max_length=settings.max_length,
        model_max=model_max,
        too_long=settings.too_long,
        overrides=settings.override_checks,
        method=settings.method,
        stops=student.stops,
        teacher=teacher,
    )
    report.info = student.info(enc.form)
    return report


def prepare(settings: SFTSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    """(tokenized dataset to train on, check report)."""
    import datasets

    ds = load_config(snap, "messages")
    ids = list(ds["generation_id"])
    convos = list(ds["messages"])
    student = setup(tokenizer, settings.student, settings.chat_template, convos)
    enc = encode.encode_sft(tokenizer, student.template.text, convos, ids)
    report = run_checks(settings, tokenizer, enc, convos, ids, model_max, student)
    if report.keep:
        k = report.keep[0]
        report.info["sample"] = encode.show_sample(tokenizer, enc.ids[k], enc.masks[k])[-4000:]
    rows = [{"input_ids": enc.ids[i], "labels": labels(enc.ids[i], enc.masks[i])} for i in report.keep]
    return datasets.Dataset.from_list(rows), report


def labels(ids: list[int], mask: list[int]) -> list[int]:
    return [t if m else -100 for t, m in zip(ids, mask, strict=True)]  # -100: no loss (context)


def build(settings: SFTSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        **common_args(settings, output_dir),
        max_length=report.max_length,
        packing=settings.packing,
        dataset_num_proc=None,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )
