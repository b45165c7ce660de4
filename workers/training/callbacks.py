"""The TrainerCallback that reports training on the stage while it runs: every logged step becomes a
point of the series (loss, learning rate, grad norm and the method's own signals: DPO's reward margin
and accuracy, GRPO's reward, its spread and the share of prompts with no reward, kd's cross-entropy and
KL to the teacher), written at most once
per progress interval (a second by default) so the run page draws the curves live; the scalars (step,
epoch, tokens/s) and the cancel check ride on every step (a cancel stops at the next step; the
checkpoints stay)."""

from __future__ import annotations

import logging
import time
from typing import Any

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.runs.models import RunStage
from backend.training.schemas import SERIES_MAX, TrainSummary

log = logging.getLogger(__name__)

# what TRL logs -> the point's field; a key absent from a method's logs stays None on its points
LOGGED = {
    "loss": "loss",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "reward": "reward",
    "reward_std": "reward_std",
    "zero_reward_groups": "zero_reward_groups",  # grpo.reward_function's own metric
    "rewards/margins": "reward_margin",
    "rewards/accuracies": "reward_accuracy",
    "ce": "ce",  # kd: the loss's two parts (kd_loss.KDTrainer)
    "kl": "kl",
}
NO_REWARD = (
    "every reward so far is 0: the verifiers passed no sampled completion (one they could not decide, a "
    "timeout or an error, scores 0 too), so GRPO has nothing to learn from; check the filter's verifiers "
    "and the references, or raise max_completion_length"
)


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


def point_of(step: int, logs: dict[str, Any]) -> dict[str, Any]:
    """One point of the series from a log record (the Trainer's on_log or a checkpoint's log_history)."""
    return {"step": step, **{field: logs.get(key) for key, field in LOGGED.items()}}


def is_step_log(logs: dict[str, Any]) -> bool:
    """A training step's record, not the end-of-training summary (train_loss) or an evaluation."""
    return "loss" in logs or "learning_rate" in logs


def signal_warnings(series: list[dict], rewarded: bool) -> list[str]:
    """The summary's warnings: GRPO's rewards all 0 so far (`rewarded`: a nonzero reward was seen)."""
    return [NO_REWARD] if not rewarded and any(p.get("reward") is not None for p in series) else []


def make_callback(ctx, summary: dict[str, Any]):
    """A ProgressCallback bound to the stage context; `summary` is updated in place."""
    from transformers import TrainerCallback

    class StageProgress(TrainerCallback):
        def __init__(self) -> None:
            self._t0: float | None = None
            self._tokens0 = 0
            self._last_write = float("-inf")
            self._interval = get_settings().progress_interval_s
            # a resumed run's restored series counts: one rewarded step before the kill clears the warning
            self._rewarded = any(p.get("reward") for p in summary.get("series", []))

        def _write(self, state, *, force: bool = False) -> None:
            now = time.monotonic()
            if state.is_world_process_zero and (force or now - self._last_write >= self._interval):
                self._last_write = now
                write_metrics(ctx.stage_id, summary)

        def on_train_begin(self, args, state, control, **kw):
            self._t0, self._tokens0 = time.monotonic(), state.num_input_tokens_seen or 0
            summary["max_steps"] = state.max_steps
            summary["step"] = state.global_step
            self._write(state, force=True)

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            if not is_step_log(logs):
                return
            point = point_of(state.global_step, logs)
            self._rewarded = self._rewarded or bool(point["reward"])
            summary["series"] = thin([*summary.get("series", []), point])
            summary["warnings"] = signal_warnings(summary["series"], self._rewarded)
            for k in ("loss", "learning_rate", "grad_norm"):
                if logs.get(k) is not None:
                    summary[k] = float(logs[k])
            # on_log comes after the step's on_step_end: written here, a point shows without waiting a step
            self._write(state)

        def on_step_end(self, args, state, control, **kw):
            summary["step"], summary["epoch"] = state.global_step, state.epoch
            elapsed = time.monotonic() - (self._t0 or time.monotonic())
            tokens = (state.num_input_tokens_seen or 0) - self._tokens0
            if elapsed > 0 and tokens:
                summary["tokens_per_s"] = tokens / elapsed
            if state.is_world_process_zero:
                ctx.progress(state.global_step, state.max_steps)  # raises Cancelled once the user cancelled
            self._write(state)  # the step and tokens/s move between logged steps too (logging_steps > 1)

    return StageProgress()
