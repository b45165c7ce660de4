"""Run and stage schemas. The recipe and the stage views are built from the stage registry, so a new
stage kind brings its settings and metrics into the API (and the OpenAPI schema) by itself."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar, Union, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    create_model,
    field_validator,
    model_validator,
)

from backend.core.ids import Id
from backend.runs import cost
from backend.runs.models import Status
from backend.runs.stages import STAGES

RECIPE_VERSION: Final = 1  # Final: typed Literal[1], the version field's type
S = TypeVar("S", bound=BaseModel)


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
        problems = [p for name in self.stages if (check := STAGES[name].recipe_check) for p in check(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @overload
    def settings_of(self, kind: str) -> BaseModel: ...
    @overload
    def settings_of(self, kind: str, model: type[S]) -> S: ...
    def settings_of(self, kind: str, model: type[BaseModel] = BaseModel) -> BaseModel:
        """The typed settings of one stage kind. The recipe's fields come from the registry at import,
        so a type checker cannot see them: name the kind's settings model to get it typed (checked
        here, so a wrong model fails at once instead of as a missing attribute later)."""
        settings = getattr(self, kind)
        if not isinstance(settings, model):
            raise TypeError(
                f"the recipe's {kind} settings are a {type(settings).__name__}, not {model.__name__}"
            )
        return settings


# The recipe, the stage views and the run summary are built from the registry at import. To a type
# checker they are what they are built on: a Recipe is a RecipeBase (its kinds' settings through
# settings_of), a stage view a StageBase, the summary a model.
if TYPE_CHECKING:
    Recipe = RecipeBase
else:
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
    recipe: Recipe


class StageResume(BaseModel):
    """A failed or cancelled stage's new settings, for POST .../runs/{run_id}/stages/{stage_id}/resume."""

    settings: dict[str, Any] = Field(
        description="The stage's whole settings (its recipe key), checked as run creation checks them; "
        "GET .../stage-kinds has their JSON Schema."
    )


class EstimateIn(BaseModel):
    """What POST .../runs/estimate takes: the body of POST .../runs, its name optional. A bare recipe
    (the body before this shape) is still taken as {"recipe": ...}: deprecated, for old clients."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, description="The run's name (unused).")
    recipe: Recipe

    @model_validator(mode="before")
    @classmethod
    def _bare_recipe(cls, data: Any) -> Any:
        # the deprecated shape has no "recipe" key (a recipe has none either): its errors then read
        # body.recipe.<field>, as the run's creation does
        if isinstance(data, dict) and "recipe" not in data:
            return {"recipe": data}
        return data


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
    fields: dict[str, Any] = {  # a Literal of a runtime name and a runtime union: no static type
        "kind": (Literal[name], ...),
        "metrics": (summary | None, Field(None, description="None until the stage reports.")),
    }
    return create_model(f"{name.capitalize()}Stage", __base__=StageBase, **fields)


STAGE_VIEWS = {k.name: _stage_view(k.name, k.summary) for k in STAGES.values()}
if TYPE_CHECKING:
    StageOut = StageBase
else:
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


if TYPE_CHECKING:
    RunSummary = BaseModel
else:
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
    summary: RunSummary
    warnings: list[str]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def _costed(self) -> dict[str, Any]:
        return self.summary.model_dump(include={"rollout", "judge", "filter"})

    @computed_field(  # type: ignore[prop-decorator]
        description="What the teacher cost so far: the rollout's and the judge's (backend/runs/cost.py)."
    )
    @property
    def cost_usd(self) -> float:
        return cost.teacher_cost_usd(self._costed())

    @computed_field(  # type: ignore[prop-decorator]
        description="cost_usd over the attempts the filter accepted (the dataset card's figure too)."
    )
    @property
    def cost_per_accepted_usd(self) -> float | None:
        return cost.cost_per_accepted_usd(self._costed())


class RunListItem(BaseModel):
    """A run as the runs list shows it. The recipe, the summary (a trained run's holds its loss curve and
    chat template) and the error are on GET .../runs/{run_id}: every list item carried them, and the list
    cost ten times the CPU of the API's health check for columns nobody reads there."""

    id: int
    project_id: int
    name: str
    status: Status
    prompt_set_id: int | None
    teacher_id: int | None
    partly_failed: str | None = Field(
        description="A succeeded stage's note that some of its attempts failed (its summary's partly_failed)."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunDetail(RunOut):
    stages: list[StageOut]
