"""The train stage: the student trained with TRL on a snapshot, on the gpu queue.

Steps, each failing with a user error before the next: resolve the snapshot (of the run's project),
load the tokenizer (a student that cannot load fails here), render and check every example on the
exact training template (the report is stored on the stage; a failed check trains nothing), load the
model and its LoRA, train from the last checkpoint if a previous worker left one, save the final model
with its card and register it as a model artifact.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from backend.core.db import session_scope
from backend.datasets.models import ModelArtifact
from backend.evals.schemas import CheckpointEval, EvalSettings
from backend.runs.models import Run, RunStage, Status
from backend.runs.stages import STAGES
from backend.training.card import write_model_card
from backend.training.model_refs import resolve_model
from backend.training.schemas import TrainBase
from workers.celery_app import celery_app
from workers.progress import Cancelled
from workers.runner import StageContext, run_stage, settings_for
from workers.training import artifacts, checks, keep, launch, routed_distill
from workers.training.callbacks import is_step_log, make_callback, point_of, thin, write_metrics
from workers.training.checkpoints import last_checkpoint, stage_dir
from workers.training.data import resolve_snapshot
from workers.training.student import load_model, load_tokenizer, lora_config

log = logging.getLogger(__name__)
METHODS = {m: f"workers.training.{m}" for m in ("sft", "dpo", "grpo", "distill", "kd")}


def _model_max(name: str) -> int | None:
    from transformers import AutoConfig

    return getattr(AutoConfig.from_pretrained(name), "max_position_embeddings", None)


def _checkpoint_series(checkpoint: str) -> list[dict]:
    """The loss curve up to a checkpoint, from the log history the Trainer saved with it."""
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    return thin([point_of(e["step"], e) for e in state["log_history"] if is_step_log(e)])


def _checkpoints_to_evaluate(recipe: dict) -> CheckpointEval | None:
    """The run's evaluate.checkpoints, where a later evaluate stage asks for checkpoints."""
    if "evaluate" not in recipe.get("stages", []):
        return None
    return settings_for("evaluate", recipe, EvalSettings).checkpoints


def _optimizer_steps(trainer) -> int | None:
    steps = [int(st["step"]) for st in trainer.optimizer.state.values() if "step" in st]
    return max(steps) if steps else None


def _raise_if_cancelled(stage_id: int) -> None:
    with session_scope() as s:
        if s.get_one(RunStage, stage_id).status in (Status.cancelling, Status.cancelled):
            raise Cancelled()


def _launch(ctx: StageContext, folder: Path, processes: int) -> dict[str, Any]:
    """Train on every GPU of the host through accelerate launch; the stage's own task waits for it."""
    import subprocess

    settings = ctx.settings_as(TrainBase)
    config = launch.write_config(folder, processes, settings.distributed)
    result = folder / "result.json"
    result.unlink(missing_ok=True)
    cmd = launch.launch_command(config, processes, ctx.stage_id, result)
    log.info("stage %s: %s", ctx.stage_id, " ".join(cmd))
    proc = subprocess.Popen(cmd)
    try:
        while proc.poll() is None:
            time.sleep(5)
            _raise_if_cancelled(ctx.stage_id)  # rank 0 writes the progress; this only watches
    finally:
        if proc.poll() is None:
            proc.terminate()
    if proc.returncode != 0 or not result.is_file():
        _raise_if_cancelled(ctx.stage_id)  # rank 0 stopped on a cancel: Cancelled, not a failure
        raise RuntimeError(f"accelerate launch exited with {proc.returncode}; see the worker's log")
    return {**json.loads(result.read_text()), "launch": cmd}


def train(ctx: StageContext, distributed_rank: int | None = None) -> dict[str, Any] | None:
    """The stage's body. In the worker's process (distributed_rank None) on a host with several GPUs it
    hands over to accelerate launch, whose processes call it again with their rank."""
    settings = ctx.settings_as(TrainBase)
    method = importlib.import_module(METHODS[settings.method])
    named = settings.student  # as the recipe names it: the artifact's recorded base
    with session_scope() as s:
        run = s.get_one(Run, ctx.run_id)
        project_id = run.project_id
        to_evaluate = _checkpoints_to_evaluate(run.recipe or {})
        # checked again here, not only at creation: roots and folders change in between
        student = resolve_model(s, project_id, named, field="recipe.train.student")
    settings = settings.model_copy(update={"student": student})
    folder = stage_dir(project_id, ctx.run_id, ctx.stage_id)
    if distributed_rank is None:
        processes = launch.processes_for(settings.num_gpus, launch.gpu_count())
        if processes > 1:
            return _launch(ctx, folder, processes)
    main = distributed_rank in (None, 0)
    snap = resolve_snapshot(ctx.run_id, settings.snapshot_id)
    ctx.progress(0, settings.max_steps, force=True)
    tokenizer = load_tokenizer(settings.student)
    dataset, report = method.prepare(settings, snap, tokenizer, _model_max(settings.student), ctx)
    summary: dict[str, Any] = {
        "method": settings.method,
        "snapshot_id": snap.id,
        "checks": [r.model_dump() for r in report.results],
        "overrides": report.overrides,
        "examples": len(dataset),
        "excluded_too_long": len(report.lengths) - len(report.keep),
        "max_length": report.max_length,
        **report.info,  # template (family, source, reasoning form), pad, one sample with its loss mask
    }
    if main:
        write_metrics(ctx.stage_id, summary)
    checks.refuse_if_failed(report)

    model = load_model(settings.student, quantize_4bit=bool(settings.lora and settings.lora.quantize_4bit))
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    peft_config = lora_config(model, settings.lora) if settings.lora else None
    resume = last_checkpoint(folder)
    summary["resumed_from_step"] = resume[1] if resume else None
    if resume:  # the loss curve goes on from where the killed worker left it
        summary["series"] = _checkpoint_series(resume[0])
    callbacks = [make_callback(ctx, summary)]
    if to_evaluate is not None:  # before the Trainer rotates them away (save_total_limit)
        callbacks.append(keep.make_keeper(to_evaluate, folder))
    trainer = method.build(settings, model, tokenizer, dataset, report, str(folder), callbacks, peft_config)
    # the stage's own callback reports every step on the run; transformers' printer would also write each
    # logged step's dict to the worker's stdout (a line every step in `make demo`)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    log.info("stage %s: %s on %d examples, resume %s", ctx.stage_id, settings.method, len(dataset), resume)
    result = trainer.train(resume_from_checkpoint=resume[0] if resume else None)
    summary.update(step=trainer.state.global_step, loss=summary.get("loss") or result.training_loss)
    summary["optimizer_steps"] = _optimizer_steps(trainer)
    if (teachers := routed_distill.taught(report)) is not None:  # distill with train.teachers
        summary["teachers"] = teachers

    final = folder / "final"
    artifacts.save_model(
        trainer, tokenizer, final, merge=bool(settings.lora and settings.lora.merge), base=settings.student
    )
    if not main:
        return None
    summary["eval_checkpoints"] = [{"step": n, "path": str(p)} for n, p in keep.kept(folder)]
    lin = artifacts.lineage(ctx.run_id, snap.id, last[0] if (last := last_checkpoint(folder)) else None)
    recipe = {**settings.model_dump(mode="json"), "student": named}
    facts = (
        "step",
        "loss",
        "tokens_per_s",
        "epoch",
        "examples",
        "max_length",
        "template",
        "pad",
        "resumed_from_step",
        "teachers",
    )
    metrics = {k: summary.get(k) for k in facts}  # what the model card reads (backend/training/card.py)
    summary["artifact_id"] = artifacts.register(
        project_id=project_id,
        run_id=ctx.run_id,
        snapshot_id=snap.id,
        base=named,
        method=settings.method,
        path=final,
        metrics={**metrics, "lineage": lin, "recipe": recipe},
    )
    with session_scope() as s:
        write_model_card(s, s.get_one(ModelArtifact, summary["artifact_id"]))
    summary["path"] = str(final)
    return summary


@celery_app.task(name=STAGES["train"].task, bind=True)
def train_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, train)
