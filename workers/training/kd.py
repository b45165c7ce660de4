"""kd: offline knowledge distillation on the snapshot's accepted traces. The data is SFT's (encode.py:
the prompt as the student is served it, the final assistant turn as the target), each example with the
teacher's top-K logprobs of its completion from the snapshot's cache (kd_cache.py); the trainer is
TRL's SFTTrainer with the loss mixing its cross-entropy and the KL to the teacher (kd_loss.py). The
cache's ids are the teacher's, so the student's vocabulary must be the teacher's (checked by content,
kd_checks.py) and the cached tokens the student's own tokens of the turn it trains on."""

from __future__ import annotations

import tempfile
from pathlib import Path

from backend.training.schemas import KDSettings
from workers.training import encode, kd_cache
from workers.training.checkpoints import stage_dir
from workers.training.config import common_args
from workers.training.data import SnapshotRef, load_config
from workers.training.sft import labels, run_checks
from workers.training.templates import setup


def _data_dir(snap: SnapshotRef, ctx) -> Path:
    if ctx is None:  # outside a stage (the bench): a folder of its own
        return Path(tempfile.mkdtemp(prefix="distillery-kd-"))
    return stage_dir(snap.project_id, ctx.run_id, ctx.stage_id) / "kd-data"


def prepare(settings: KDSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    """(the examples with their teacher top-K, as a memory-mapped dataset; the check report)."""
    import datasets

    ds = load_config(snap, "messages")
    ids = list(ds["generation_id"])
    convos = list(ds["messages"])
    student = setup(tokenizer, settings.student, settings.chat_template, convos)
    enc = encode.encode_sft(tokenizer, student.template.text, convos, ids)
    starts = [m.index(1) if 1 in m else len(m) for m in enc.masks]  # the trained turn's first token
    targets = [x[s:] for x, s in zip(enc.ids, starts, strict=True)]
    view = kd_cache.scan(snap.id, snap.folder, settings.student, tokenizer, ids, targets)
    report = run_checks(settings, tokenizer, enc, convos, ids, model_max, student, teacher=view)
    if report.failures:  # refused right after the report is stored: the top-K are never read
        return datasets.Dataset.from_dict({"input_ids": []}), report
    k = report.keep[0]
    report.info["sample"] = encode.show_sample(tokenizer, enc.ids[k], enc.masks[k])[-4000:]
    report.combo = view.k  # the collator's K
    examples = {
        ids[i]: {
            "input_ids": enc.ids[i],
            "labels": labels(enc.ids[i], enc.masks[i]),
            "turn": starts[i],
            "n": view.covered[i][0],
            "blocks": view.covered[i][1],
        }
        for i in report.keep
    }
    return kd_cache.write_rows(view, examples, _data_dir(snap, ctx)), report


def build(settings: KDSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config):
    from trl import SFTConfig

    from workers.training.kd_loss import KDCollator, KDTrainer

    args = SFTConfig(
        **common_args(settings, output_dir),
        max_length=report.max_length,
        packing=False,  # the teacher's top-K are laid on each example's own positions
        dataset_num_proc=None,
        # already tokenized, labelled and cut to max_length by the pre-flight: TRL's preparation would only
        # copy the top-K columns through map and filter
        dataset_kwargs={"skip_prepare_dataset": True},
    )
    return KDTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        data_collator=KDCollator(tokenizer.pad_token_id, report.combo),
        callbacks=callbacks,
        peft_config=peft_config,
        alpha=settings.alpha,
        temperature=settings.temperature,
        tail=settings.tail,
    )
