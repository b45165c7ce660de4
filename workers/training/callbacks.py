"""The TrainerCallback that reports training on the stage: loss, learning rate, grad norm, tokens/s and
epoch at most once per progress interval (a second by default), the loss curve as a bounded series,
and the cancel check at every step (a cancel stops at the next step; the checkpoints stay)."""

from __future__ import annotations

import logging
import time
from typing import Any

from backend.core.db import session_scope
from backend.runs.models import RunStage
from backend.training.schemas import SERIES_MAX, TrainSummary

log = logging.getLogger(__name__)


def write_metrics(stage_id: int, summary: dict[str, Any]) -> None:
    """Store the live summary on the stage (checked against TrainSummary, as the final one is)."""
    with session_scope() as s:
        s.get_one(RunStage, stage_id).metrics = TrainSummary.model_validate(summary).model_dump(mode="json")


def thin(series: list[dict], limit: int = SERIES_MAX) -> list[dict]:
    """Keep every other old point once the series is full; the newest point always stays."""
    if len(series) <= limit:
        return series
    head, last = series[:-1], series[-1]
    return head[::2] + [last]


def make_callback(ctx, summary: dict[str, Any]):
    """A ProgressCallback bound to the stage context; `summary` is updated in place."""
    from transformers import TrainerCallback

    class StageProgress(TrainerCallback):
        def __init__(self) -> None:
            self._t0: float | None = None
            self._tokens0 = 0
            self._last_write = float("-inf")

        def on_train_begin(self, args, state, control, **kw):
            self._t0, self._tokens0 = time.monotonic(), state.num_input_tokens_seen or 0
            summary["max_steps"] = state.max_steps
            summary["step"] = state.global_step

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            if "loss" not in logs and "learning_rate" not in logs:
                return
            point = {
                "step": state.global_step,
                "loss": logs.get("loss"),
                "learning_rate": logs.get("learning_rate"),
                "grad_norm": logs.get("grad_norm"),
                "reward": logs.get("reward"),
            }
            summary["series"] = thin([*summary.get("series", []), point])
            for k in ("loss", "learning_rate", "grad_norm"):
                if logs.get(k) is not None:
                    summary[k] = float(logs[k])

        def on_step_end(self, args, state, control, **kw):
            summary["step"], summary["epoch"] = state.global_step, state.epoch
            elapsed = time.monotonic() - (self._t0 or time.monotonic())
            tokens = (state.num_input_tokens_seen or 0) - self._tokens0
            if elapsed > 0 and tokens:
                summary["tokens_per_s"] = tokens / elapsed
            if state.is_world_process_zero:
                # the throttle is the progress reporter's; the metrics ride on the same write
                before = ctx._last_write
                ctx.progress(state.global_step, state.max_steps)  # raises Cancelled once the user cancelled
                if ctx._last_write != before:
                    write_metrics(ctx.stage_id, summary)

    return StageProgress()
