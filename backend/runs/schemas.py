"""Run and stage schemas. The recipe and the stage views are built from the stage registry, so a new
stage kind brings its settings and metrics into the API (and the OpenAPI schema) by itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from backend.core.ids import Id
from backend.runs.models import Status
from backend.runs.stages import STAGES

RECIPE_VERSION = 1


class RecipeBase(BaseModel):
    """Everything a run needs; stored whole with the run so any number can be traced to it. Each stage
    kind adds a key of its own name holding its settings (see GET /api/projects/{id}/stage-kinds)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = RECIPE_VERSION
    prompt_set_id: Id
    # Before teacher_id: the teacher check below reads the validated stages.
    stages: list[str] = Field(["profile"], min_length=1, description="Stage kinds, in pipeline order.")
    teacher_id: Id | None = Field(None, validate_default=True)

    @field_validator("stages")
    @classmethod
    def _known_ordered_stages(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; known: {sorted(STAGES)}")
        if len(set(v)) != len(v):
            raise ValueError("a stage may appear only once")
        for i, name in enumerate(v):
            missing = [r for r in STAGES[name].requires if r not in v[:i]]
            if missing:
                raise ValueError(f"stage {name!r} needs {missing} earlier in the list")
        return v

    @field_validator("teacher_id")
    @classmethod
    def _teacher_where_needed(cls, v: int | None, info: ValidationInfo) -> int | None:
        needing = [s for s in info.data.get("stages") or [] if STAGES[s].needs_teacher]
        if needing and v is None:
            raise ValueError(f"the {needing[0]} stage needs teacher_id")
        return v

    @model_validator(mode="after")
    def _cross_stage_rules(self) -> RecipeBase:
        problems = [
            p for name in self.stages if STAGES[name].recipe_check for p in STAGES[name].recipe_check(self)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def settings_of(self, kind: str) -> BaseModel:
        """The typed settings of one stage kind."""
        return getattr(self, kind)


Recipe = create_model(
    "Recipe",
    __base__=RecipeBase,
    __doc__=RecipeBase.__doc__,
    **{
        k.name: (
            k.settings,
            Field(default_factory=k.default_settings, description=f"Settings of the {k.name} stage."),
        )
        for k in STAGES.values()
    },
)


class RunCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    recipe: Recipe  # type: ignore[valid-type]


class StageBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    position: int
    status: Status
    progress_done: int
    progress_total: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None = Field(description="When its worker last said it is alive.")
    workers_lost: int = Field(
        description="Times its worker was lost and it was re-queued automatically "
        "(past DISTILLERY_MAX_REQUEUES it fails)."
    )

    @field_validator("metrics", mode="before", check_fields=False)
    @classmethod
    def _none_until_reported(cls, v: Any) -> Any:
        return v or None  # a stage that has reported nothing yet stores {}


def _stage_view(name: str, summary: type[BaseModel]) -> type[StageBase]:
    return create_model(
        f"{name.capitalize()}Stage",
        __base__=StageBase,
        kind=(Literal[name], ...),
        metrics=(summary | None, Field(None, description="None until the stage reports.")),
    )


STAGE_VIEWS = {k.name: _stage_view(k.name, k.summary) for k in STAGES.values()}
StageOut = Annotated[Union[tuple(STAGE_VIEWS.values())], Field(discriminator="kind")]  # noqa: UP007


def stage_out(stage) -> StageBase:
    """A stage row as its kind's typed view."""
    return STAGE_VIEWS[stage.kind].model_validate(stage)


class StageKindOut(BaseModel):
    name: str
    queue: str
    help: str
    requires: list[str]
    needs_teacher: bool
    settings_schema: dict[str, Any] = Field(description="JSON Schema of the stage's recipe settings.")


class VerifierKindOut(BaseModel):
    """A verifier a recipe's filter (or evaluation) may name, with the JSON Schema of its settings."""

    name: str
    version: str
    help: str
    settings_schema: dict[str, Any] = Field(description="JSON Schema of the verifier's settings.")


RunSummary = create_model(
    "RunSummary",
    __doc__="Each finished stage's summary, under its kind's name.",
    **{k.name: (k.summary | None, None) for k in STAGES.values()},
)


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    status: Status
    recipe: dict[str, Any]
    prompt_set_id: int | None
    teacher_id: int | None
    summary: RunSummary  # type: ignore[valid-type]
    warnings: list[str]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunDetail(RunOut):
    stages: list[StageOut]  # type: ignore[valid-type]
