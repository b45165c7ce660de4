"""Checkpoints kept for evaluation (evaluate.checkpoints): the Trainer deletes all but the newest
train.save_total_limit checkpoints (those are for resuming), so each checkpoint the evaluation will
score is hard-linked, weights, config and tokenizer only, under `eval-checkpoints/step-N/` of the
stage's folder as soon as it is saved, before the next save rotates it away. A hard link costs no
space while the Trainer's copy lives; the optimizer state (twice the weights) is never kept.
The rule of which steps is backend/evals/checkpoints.py's."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from backend.evals.checkpoints import chosen, keeps
from backend.evals.schemas import CheckpointEval

FOLDER = "eval-checkpoints"
_STEP = re.compile(r"^step-(\d+)$")
# what resuming needs and an evaluation does not
_SKIP = re.compile(r"^(optimizer|scheduler|rng_state|trainer_state|training_args|scaler)")


def kept(folder: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint kept for evaluation, by step."""
    root = folder / FOLDER
    if not root.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _STEP.match(p.name)) and p.is_dir())


def keep(checkpoint: Path, folder: Path, step: int) -> Path:
    """Link one checkpoint's files into eval-checkpoints/step-N (written under a temporary name, then
    renamed: a worker killed mid-way leaves no half checkpoint to evaluate)."""
    root = folder / FOLDER
    dst, tmp = root / f"step-{step}", root / f".tmp-step-{step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for src in checkpoint.iterdir():
        if not src.is_file() or _SKIP.match(src.name):
            continue
        try:
            os.link(src, tmp / src.name)
        except OSError:  # another filesystem, or one without hard links
            shutil.copy2(src, tmp / src.name)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
    return dst


def prune(folder: Path, option: CheckpointEval) -> None:
    """Drop kept checkpoints the option no longer asks for (last K: the older ones)."""
    keep_steps = set(chosen(option, [s for s, _ in kept(folder)]))
    for step, path in kept(folder):
        if step not in keep_steps:
            shutil.rmtree(path, ignore_errors=True)


def make_keeper(option: CheckpointEval, folder: Path):
    """A TrainerCallback that keeps each checkpoint the evaluation asks for, on the main process."""
    from transformers import TrainerCallback

    class KeepForEvaluation(TrainerCallback):
        def on_save(self, args, state, control, **kw):
            step = state.global_step
            checkpoint = Path(args.output_dir) / f"checkpoint-{step}"
            if state.is_world_process_zero and keeps(option, step) and checkpoint.is_dir():
                keep(checkpoint, folder, step)
                prune(folder, option)

    return KeepForEvaluation()
