"""The trained student saved in Hugging Face format, registered as a model artifact with its lineage
(teacher -> snapshot -> checkpoint); its card is backend/training/card.py's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from backend.core.db import session_scope
from backend.datasets.models import DatasetSnapshot, ModelArtifact
from backend.runs.models import Run
from backend.teachers.models import Teacher

log = logging.getLogger(__name__)


def save_model(trainer, tokenizer, folder: Path, *, merge: bool, base: str) -> None:
    """The final weights; a LoRA adapter merged into its base on request (else saved as an adapter).
    Beside them what vLLM serves the student with: the tokenizer with the family's own chat template and
    the pad chosen for training, and the base's generation_config (its eos list: Llama 3 stops on
    <|eot_id|> only through it) with that pad."""
    model = trainer.model
    if merge and hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
        if trainer.is_world_process_zero():
            model.save_pretrained(folder)
    else:
        trainer.save_model(str(folder))  # gathers ZeRO-3 / FSDP shards on several GPUs
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(folder)
        generation_config(base, tokenizer.pad_token_id).save_pretrained(folder)


def generation_config(base: str, pad_token_id: int | None):
    from transformers import GenerationConfig

    try:
        cfg = GenerationConfig.from_pretrained(base)
    except (OSError, ValueError):  # a base without one: the tokenizer's EOS is the whole list
        cfg = GenerationConfig()
    cfg.pad_token_id = pad_token_id
    return cfg


def lineage(run_id: int, snapshot_id: int, checkpoint: str | None) -> dict[str, Any]:
    with session_scope() as s:
        run = s.get_one(Run, run_id)
        snap = s.get_one(DatasetSnapshot, snapshot_id)
        source_run = s.get(Run, snap.run_id) if snap.run_id else None
        teacher_id = (source_run.teacher_id if source_run else None) or run.teacher_id
        teacher = s.get(Teacher, teacher_id) if teacher_id else None
        return {
            "teacher": {"id": teacher.id, "name": teacher.name, "model": teacher.model} if teacher else None,
            "snapshot": {"id": snap.id, "content_hash": snap.content_hash, "run_id": snap.run_id},
            # which teacher taught which prompts of the snapshot (rollout.teachers), as its card says
            "taught_by": (snap.row_counts or {}).get("teachers") or [],
            "checkpoint": checkpoint,
            "run": {"id": run.id, "name": run.name},
        }


def register(
    *, project_id: int, run_id: int, snapshot_id: int, base: str, method: str, path: Path, metrics: dict
) -> int:
    with session_scope() as s:
        art = ModelArtifact(
            project_id=project_id,
            run_id=run_id,
            snapshot_id=snapshot_id,
            base_model=base[:300],
            method=method,
            path=str(path),
            metrics=metrics,
        )
        s.add(art)
        s.flush()
        return art.id
