"""The train settings are one model per method: sft when `method` is absent, another method's field
refused with whose it is, a oneOf with a discriminator in the schema; runs stored before (every
method's fields in one bag) are rewritten by migration 0019 and still load and re-queue."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.migrate import alembic_config
from backend.runs.stages import STAGES
from backend.training.schemas import (
    DistillSettings,
    DPOSettings,
    GRPOSettings,
    KDSettings,
    SFTSettings,
    TrainSettings,
)
from tests.support.databases import throwaway_engine
from workers.runner import settings_for

ROOT = Path(__file__).resolve().parents[2]
TRAIN = TypeAdapter(TrainSettings)


def _errors(data: dict) -> list[dict]:
    with pytest.raises(ValidationError) as err:
        TRAIN.validate_python(data)
    return err.value.errors()


def test_method_absent_means_sft_and_each_method_gets_its_own_model():
    assert type(TRAIN.validate_python({"student": "s"})) is SFTSettings
    assert type(STAGES["train"].default_settings()) is SFTSettings
    got = {m: type(TRAIN.validate_python({"method": m})) for m in ("sft", "dpo", "grpo", "distill", "kd")}
    assert got == {
        "sft": SFTSettings,
        "dpo": DPOSettings,
        "grpo": GRPOSettings,
        "distill": DistillSettings,
        "kd": KDSettings,
    }
    assert GRPOSettings().beta == 0.0 and DPOSettings().beta == 0.1


def test_a_field_of_another_method_is_refused_naming_the_field_and_whose_it_is():
    [e] = _errors({"beta": 0.3})
    assert (
        e["loc"] == ("beta",) and e["msg"] == "not a setting of method sft; only dpo, grpo, distill take it"
    )
    [e] = _errors({"method": "dpo", "num_generations": 8})
    assert e["loc"] == ("num_generations",) and e["msg"] == "not a setting of method dpo; only grpo takes it"
    [e] = _errors({"method": "grpo", "packing": True})
    assert e["msg"] == "not a setting of method grpo; only sft takes it"
    [e] = _errors({"method": "sft", "betta": 1})
    assert e["loc"] == ("betta",) and e["msg"] == "not a train setting (method sft)"


def test_ranges_are_the_methods_own_and_paths_carry_no_tag():
    [e] = _errors({"method": "distill", "beta": 2})  # forward (0) to reverse (1) KL
    assert e["loc"] == ("beta",) and e["type"] == "less_than_equal"
    assert DPOSettings(beta=2).beta == 2  # dpo's KL strength goes to 10
    [e] = _errors({"method": "ppo"})
    assert e["loc"] == ("method",) and e["msg"] == "method must be one of sft, dpo, grpo, distill, kd"
    [e] = _errors({"method": "grpo", "num_generations": 3})  # 8 * 1 is no multiple of 3
    assert e["loc"] == () and "multiple of num_generations" in e["msg"]
    [e] = _errors({"method": "dpo", "learning_rate": 0})
    assert e["loc"] == ("learning_rate",)


def test_kd_takes_a_mix_and_a_temperature_in_range_and_no_packing():
    kd = TRAIN.validate_python({"method": "kd", "alpha": 0.25, "temperature": 2})
    assert type(kd) is KDSettings and (kd.alpha, kd.temperature, kd.tail) == (0.25, 2.0, True)
    [e] = _errors({"method": "kd", "alpha": 1.5})
    assert e["loc"] == ("alpha",) and e["type"] == "less_than_equal"
    [e] = _errors({"method": "kd", "temperature": 0})
    assert e["loc"] == ("temperature",) and e["type"] == "greater_than"
    [e] = _errors({"method": "kd", "packing": True})  # the top-K sit on each example's own positions
    assert e["msg"] == "not a setting of method kd; only sft takes it"
    [e] = _errors({"alpha": 0.5})
    assert e["loc"] == ("alpha",) and e["msg"] == "not a setting of method sft; only kd takes it"


def test_the_schema_is_a_oneof_on_method_with_each_methods_defaults():
    schema = STAGES["train"].settings_schema()
    assert schema["discriminator"]["propertyName"] == "method"
    variants = {
        ref["$ref"].rsplit("/", 1)[1]: schema["$defs"][ref["$ref"].rsplit("/", 1)[1]]
        for ref in schema["oneOf"]
    }
    assert list(variants) == ["SFTSettings", "DPOSettings", "GRPOSettings", "DistillSettings", "KDSettings"]
    assert variants["KDSettings"]["properties"]["alpha"]["default"] == 0.5
    assert variants["DistillSettings"]["properties"]["beta"]["maximum"] == 1
    assert "beta" not in variants["SFTSettings"]["properties"]
    assert variants["GRPOSettings"]["properties"]["num_generations"]["default"] == 4


# ---- stored recipes: migration 0019 ----

# the train key as the single model of revision 0018 dumped it: every method's fields, at their defaults
OLD = {
    "student": "Qwen/Qwen2.5-0.5B-Instruct", "method": "sft", "snapshot_id": None, "chat_template": None,
    "lora": None, "learning_rate": 2e-05, "lr_scheduler_type": "cosine", "warmup_ratio": 0.03,
    "weight_decay": 0.0, "epochs": 1.0, "max_steps": None, "per_device_batch_size": 8,
    "gradient_accumulation": 1, "max_length": None, "too_long": "exclude", "packing": False,
    "gradient_checkpointing": False, "use_kernels": True, "seed": 42, "save_steps": 200,
    "save_total_limit": 2, "logging_steps": 1, "beta": 0.1, "num_generations": 4,
    "max_completion_length": 256, "override_checks": [], "num_gpus": None, "distributed": "deepspeed_zero2",
}  # fmt: skip


def _migration():
    path = next((ROOT / "migrations" / "versions").glob("*_0019_*.py"))
    spec = importlib.util.spec_from_file_location("m0019", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rewrite_keeps_what_each_old_trainer_read():
    per_method = _migration().per_method
    assert per_method(OLD) == {
        k: v for k, v in OLD.items() if k not in ("beta", "num_generations", "max_completion_length")
    }
    dpo = per_method({**OLD, "method": "dpo", "beta": 0.5, "packing": True})
    assert dpo["beta"] == 0.5 and {"packing", "num_generations", "max_completion_length"}.isdisjoint(dpo)
    grpo = per_method({**OLD, "method": "grpo", "num_generations": 8})
    assert grpo["beta"] == 0.0 and grpo["num_generations"] == 8 and "packing" not in grpo  # 0.1 meant no KL
    assert per_method({**OLD, "method": "grpo", "beta": 0.04})["beta"] == 0.04
    distill = per_method(
        {**OLD, "method": "distill", "override_checks": ["too_long", "pad_token"], "too_long": "refuse"}
    )
    assert distill["override_checks"] == ["pad_token"] and distill["too_long"] == "exclude"
    assert "num_generations" not in distill and distill["max_completion_length"] == 256
    for train in (OLD, dpo, grpo, distill):
        assert per_method(per_method(train)) == per_method(train)  # a new recipe is left as it is
        TRAIN.validate_python(per_method(train))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with throwaway_engine(request.param, tmp_path, f"distillery_trainconf_{id(request)}") as eng:
        yield eng


def _upgrade(engine, to: str) -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, to)


def test_an_old_stored_run_loads_and_requeues_after_the_upgrade(engine):
    from backend.projects.models import Project
    from backend.prompts.models import PromptSet
    from backend.runs import lifecycle
    from backend.runs.models import Run, RunStage, Status

    _upgrade(engine, "0018")  # 0019 changes data only: the models fit 0018's tables
    olds = {
        "sft": {**OLD, "packing": True},
        "dpo": {**OLD, "method": "dpo", "beta": 0.3, "snapshot_id": 1},
        "grpo": {**OLD, "method": "grpo", "override_checks": ["too_long"]},
    }
    with Session(engine) as s:
        project = Project(name="p")
        s.add(project)
        s.flush()
        pset = PromptSet(project_id=project.id, name="a")
        s.add(pset)
        s.flush()
        for method, train in olds.items():
            recipe = {
                "version": 1,
                "prompt_set_id": pset.id,
                "stages": ["train"],
                "teacher_id": None,
                "train": train,
            }
            run = Run(
                project_id=project.id, name=method, recipe=recipe, prompt_set_id=pset.id, status=Status.failed
            )
            s.add(run)
            s.flush()
            s.add(RunStage(run_id=run.id, position=0, kind="train", status=Status.failed, error="lost"))
        s.commit()
    with pytest.raises(TypeError, match="train.beta: not a setting of method sft"):
        settings_for("train", {"train": {**OLD, "method": "sft"}})  # what the upgrade saves old runs from

    _upgrade(engine, "head")
    with Session(engine) as s:
        runs = {r.name: r for r in s.scalars(select(Run))}
        sft, dpo, grpo = (settings_for("train", runs[m].recipe) for m in ("sft", "dpo", "grpo"))
        assert type(sft) is SFTSettings and sft.packing is True
        assert type(dpo) is DPOSettings and dpo.beta == 0.3 and dpo.snapshot_id == 1
        assert type(grpo) is GRPOSettings and grpo.beta == 0.0 and grpo.too_long == "exclude"
        assert grpo.override_checks == []
        for run in runs.values():
            lifecycle.requeue_run(s, run=run)
        s.commit()
        assert {r.status for r in s.scalars(select(Run))} == {Status.pending}
        assert {st.status for st in s.scalars(select(RunStage))} == {Status.pending}


def test_an_error_type_of_a_validators_own_keeps_its_message_under_the_recipes_path():
    """_readable rebuilds each error without the union's tag; a type pydantic does not know (a
    validator's PydanticCustomError) is rebuilt as one, so the request is a 422, never a 500."""
    from backend.training.schemas import _readable

    own = {"type": "made_up", "loc": ("dpo", "lora", "r"), "msg": "r {x} must be even", "input": 3}
    [e] = ValidationError.from_exception_data("train", [_readable(own, "dpo")]).errors()
    assert (e["type"], e["loc"], e["msg"]) == ("made_up", ("lora", "r"), "r {x} must be even")
