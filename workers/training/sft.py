"""SFT: TRL's SFTConfig + SFTTrainer on the snapshot's conversations, loss on the assistant turns only
(the training template's {% generation %} markers), after the pre-flight checks."""

from __future__ import annotations

from backend.training.schemas import TrainSettings
from workers.training import checks
from workers.training.config import common_args
from workers.training.data import SnapshotRef, load_config, truncated_generations
from workers.training.templates import training_template


def prepare(settings: TrainSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    """(dataset to train on, check report); the tokenizer gets the training template."""
    template = training_template(tokenizer, settings.chat_template)
    ds = load_config(snap, "messages")
    ids = list(ds["generation_id"])
    report = checks.run_checks(
        tokenizer,
        template,
        list(ds["messages"]),
        row_ids=ids,
        truncated=truncated_generations(ids),
        max_length=settings.max_length,
        model_max=model_max,
        too_long=settings.too_long,
        overrides=settings.override_checks,
    )
    tokenizer.chat_template = template
    ds = ds.select(report.keep).select_columns(["messages"])
    return ds, report


def build(
    settings: TrainSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config
):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        **common_args(settings, output_dir),
        max_length=report.max_length,
        packing=settings.packing,
        assistant_only_loss=True,
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
