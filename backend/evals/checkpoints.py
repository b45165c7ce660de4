"""Evaluating a run's training checkpoints (evaluate.checkpoints): which steps, and whether the train
recipe saves them. One home for the rule, read by the recipe check (at run creation), the train stage
(which checkpoints it keeps for evaluation) and the evaluate stage (which it scores).

The Trainer saves a checkpoint every train.save_steps steps and at the last step, and deletes all but
the newest train.save_total_limit (those are for resuming). The ones asked for here are kept apart,
their weights hard-linked out of the Trainer's folder before it rotates them away
(workers/training/keep.py), so save_total_limit does not bound them; save_steps does: a step the
Trainer never saves cannot be evaluated, and the recipe is refused saying so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select

from backend.core.errors import Invalid
from backend.evals.schemas import CheckpointEval, EvalSettings
from backend.runs.models import RunStage
from backend.training.schemas import TrainBase, TrainSummary


def keeps(option: CheckpointEval, step: int) -> bool:
    """Whether the train stage keeps the checkpoint saved at `step` for evaluation (the last K are
    only known at the end: each is kept, then the older ones pruned by `chosen`)."""
    return option.every is None or step % option.every == 0


def chosen(option: CheckpointEval, steps: list[int]) -> list[int]:
    """The steps evaluated among the checkpoints kept, ascending."""
    ordered = sorted(set(steps))
    if option.every is not None:
        return [s for s in ordered if s % option.every == 0]
    return ordered[-option.last :] if option.last else []


def saved_steps(save_steps: int, max_steps: int) -> list[int]:
    """The steps the Trainer saves at: every save_steps, and the last step."""
    return sorted({*range(save_steps, max_steps + 1, save_steps), max_steps})


def check_checkpoints(recipe: Any) -> list[str]:
    """Cross-stage rules of evaluate.checkpoints: a train stage in the run that saves what is asked."""
    ev = recipe.settings_of("evaluate", EvalSettings)
    option = ev.checkpoints
    if option is None:
        return []
    stages = recipe.stages
    if "train" not in stages[: stages.index("evaluate")]:
        return ["evaluate.checkpoints: needs a train stage earlier in the run (it evaluates its checkpoints)"]
    train = recipe.settings_of("train", TrainBase)
    every, save = option.every, train.save_steps
    if every is not None and every % save:
        return [
            f"evaluate.checkpoints.every: {every} is not a multiple of train.save_steps ({save}): the train "
            f"stage saves no checkpoint at step {every}; use a multiple of {save} or change train.save_steps"
        ]
    if train.max_steps is None:  # epochs: the number of steps is known only once the data is loaded
        return []
    saved = saved_steps(save, train.max_steps)
    if every is not None and not chosen(option, saved):
        return [
            f"evaluate.checkpoints.every: {every} is past train.max_steps ({train.max_steps}): no checkpoint "
            "would be evaluated"
        ]
    if option.last is not None and option.last > len(saved):
        return [
            f"evaluate.checkpoints.last: {option.last} checkpoints asked for, but the train stage saves "
            f"{len(saved)} (max_steps {train.max_steps}, save_steps {save}: steps "
            f"{', '.join(map(str, saved))}); lower train.save_steps to about "
            f"{max(1, math.floor(train.max_steps / option.last))} or ask for fewer"
        ]
    return []


class Checkpoint(NamedTuple):
    step: int
    path: str
    loss: float | None  # the training loss logged at its step, where one was


def to_evaluate(session, run_id: int, option: CheckpointEval) -> list[Checkpoint]:
    """The checkpoints the run's train stage kept that the option asks for, by step; none is a user
    error naming what the train stage saved (an epochs-bound run can end before step N)."""
    stage = session.scalar(
        select(RunStage).where(RunStage.run_id == run_id, RunStage.kind == "train").limit(1)
    )
    if stage is None:
        raise Invalid("evaluate.checkpoints: the run has no train stage", code="eval_no_checkpoints")
    train = TrainSummary.model_validate(stage.metrics or {})
    paths = {c.step: c.path for c in train.eval_checkpoints}
    losses = {p.step: p.loss for p in train.series}
    steps = chosen(option, list(paths))
    if not steps:
        raise Invalid(
            f"evaluate.checkpoints: the train stage kept no checkpoint to evaluate (it trained {train.step} "
            f"steps; kept: {sorted(paths) or 'none'})",
            code="eval_no_checkpoints",
        )
    gone = [s for s in steps if not Path(paths[s]).is_dir()]
    if gone:
        raise Invalid(
            f"evaluate.checkpoints: the checkpoint of step {gone[0]} is gone from the worker's disk "
            f"({paths[gone[0]]}); was DATA_DIR cleaned, or is this another host?",
            code="eval_checkpoint_missing",
        )
    return [Checkpoint(s, paths[s], losses.get(s)) for s in steps]
