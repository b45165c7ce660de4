"""evaluate.checkpoints without a worker: which steps it asks for, the recipe refused (with the field and
why) when the train stage would not save them, and the train side's keeping of checkpoints apart from
the Trainer's rotation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.evals.checkpoints import chosen, keeps, saved_steps
from backend.evals.schemas import CheckpointEval
from backend.runs.schemas import RunCreate

pytestmark = pytest.mark.pure
SIX_STEPS = {"save_steps": 2, "max_steps": 6}  # checkpoints at steps 2, 4 and 6


def _recipe(checkpoints: dict, train: dict | None = None, stages=("train", "evaluate")) -> dict:
    recipe = {"prompt_set_id": 1, "stages": list(stages), "evaluate": {"checkpoints": checkpoints}}
    if "train" in stages:
        recipe["train"] = {"snapshot_id": 1, **(train or {})}
    return {"name": "r", "recipe": recipe}


def _error(body: dict) -> str:
    with pytest.raises(ValidationError) as exc:
        RunCreate.model_validate(body)
    return str(exc.value)


def test_the_steps_chosen():
    assert saved_steps(2, 7) == [2, 4, 6, 7]  # the Trainer saves at the last step too
    every, last = CheckpointEval(every=4), CheckpointEval(last=2)
    assert chosen(every, [2, 4, 6, 8, 9]) == [4, 8]
    assert chosen(last, [6, 2, 4]) == [4, 6]
    assert keeps(every, 8) and not keeps(every, 6) and keeps(last, 6)


def test_a_consistent_option_passes():
    RunCreate.model_validate(_recipe({"every": 4}, {"save_steps": 2, "max_steps": 10, "save_total_limit": 1}))
    RunCreate.model_validate(_recipe({"last": 3}, {"save_steps": 2, "max_steps": 6}))
    RunCreate.model_validate(_recipe({"every": 400}, {"save_steps": 200}))  # epochs: known at train time


@pytest.mark.parametrize(
    ("checkpoints", "train", "stages", "says"),
    [
        ({"every": 3}, {"save_steps": 2}, None, "every: 3 is not a multiple of train.save_steps (2)"),
        ({"every": 8}, SIX_STEPS, None, "evaluate.checkpoints.every: 8 is past train.max_steps (6)"),
        ({"last": 4}, SIX_STEPS, None, "last: 4 checkpoints asked for, but the train stage saves 3 "),
        ({"last": 1}, None, ("evaluate",), "evaluate.checkpoints: needs a train stage earlier in the run"),
        ({}, None, None, "set exactly one of every (N steps) or last (K checkpoints)"),
        ({"every": 2, "last": 2}, None, None, "set exactly one of every"),
        ({"every": 0}, None, None, "greater than or equal to 1"),
        ({"every": 2, "x": 1}, None, None, "Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_checkpoints_the_train_stage_will_not_save_are_refused(checkpoints, train, stages, says):
    assert says in _error(_recipe(checkpoints, train, stages or ("train", "evaluate")))


def test_kept_checkpoints_outlive_the_trainers_rotation(tmp_path):
    import shutil

    from workers.training.keep import keep, kept, prune

    folder = tmp_path / "stage"
    for step in (2, 4, 6):
        ckpt = folder / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        for name in ("model.safetensors", "config.json", "optimizer.pt", "scheduler.pt", "rng_state.pth"):
            (ckpt / name).write_text(f"{name} {step}")
        keep(ckpt, folder, step)
        shutil.rmtree(ckpt)  # what save_total_limit does to the older ones
    assert [s for s, _ in kept(folder)] == [2, 4, 6]
    step2 = folder / "eval-checkpoints" / "step-2"
    assert sorted(p.name for p in step2.iterdir()) == ["config.json", "model.safetensors"]
    assert (step2 / "model.safetensors").read_text() == "model.safetensors 2"
    prune(folder, CheckpointEval(last=2))
    assert [s for s, _ in kept(folder)] == [4, 6]


def test_a_model_label_cannot_take_a_checkpoints_name():
    body = _recipe({"every": 2}, {"save_steps": 2})
    body["recipe"]["evaluate"]["models"] = [{"role": "other", "label": "checkpoint-2", "model": "m"}]
    assert "label 'checkpoint-2': checkpoint-<step> names the evaluated checkpoints" in _error(body)
