"""Several teachers routed by prompt: a recipe's routes (`rollout.teachers`, `train.teachers` for on-policy
distillation) send the prompts that match a tag or a metadata field to another teacher of the project;
a prompt that matches no route goes to the recipe's `teacher_id` (the default route). After TRL's
multi-teacher on-policy distillation, whose rows carry a `teacher_id` column naming their teacher.

A prompt's tags are its metadata's `tags` (a list of strings, or one string) and `tag`; a field is a
dotted path under the prompt's metadata (`metadata.domain`, `metadata.source.name`). The first route
that matches wins. The routing is pure: the rollout's chunks and the distill trainer call `route_of`
on each prompt's metadata, so every replica and chunk sends a prompt to the same teacher.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from backend.core.ids import Id

MAX_ROUTES = 16
_MISSING = object()


class RouteMatch(BaseModel):
    """Which prompts a route takes: `{tag: "math"}`, or `{field: "metadata.domain", equals: "code"}`."""

    model_config = ConfigDict(extra="forbid")

    tag: str | None = Field(
        None, min_length=1, max_length=200, description="Prompts whose metadata tags (tags, tag) hold it."
    )
    field: str | None = Field(
        None,
        min_length=10,
        max_length=200,
        pattern=r"^metadata(\.[^.\s]+)+$",
        description="A dotted path under the prompt's metadata, e.g. metadata.domain; with equals.",
    )
    equals: JsonValue = Field(None, description="With field: the value the field must hold (JSON equality).")

    @model_validator(mode="after")
    def _one_kind(self) -> RouteMatch:
        if (self.tag is None) == (self.field is None):
            raise ValueError("a match names either tag or field (with equals), not both nor neither")
        if self.field is not None and "equals" not in self.model_fields_set:
            raise ValueError("a field match needs equals: the value the field must hold")
        if self.tag is not None and self.equals is not None:
            raise ValueError("equals goes with field, not with tag")
        return self


class TeacherRoute(BaseModel):
    """Prompts matching `match` go to `teacher_id` (a teacher of the run's project)."""

    model_config = ConfigDict(extra="forbid")

    match: RouteMatch
    teacher_id: Id


ROUTES_HELP = (
    "Several teachers routed by prompt: each route sends the prompts that match a tag ({tag: ...}: the "
    "prompt's metadata tags or tag) or a metadata field ({field: metadata.x, equals: ...}) to its teacher "
    "of this project; the first match wins, and a prompt matching none goes to the recipe's teacher_id. "
    "Empty: every prompt to teacher_id."
)


def _field_value(meta: dict[str, Any], path: str) -> Any:
    cur: Any = meta
    for part in path.split(".")[1:]:
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _tags(meta: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in ("tags", "tag"):
        v = meta.get(key)
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, list):
            out.update(t for t in v if isinstance(t, str))
    return out


def matches(match: RouteMatch, meta: dict[str, Any] | None) -> bool:
    meta = meta or {}
    if match.tag is not None:
        return match.tag in _tags(meta)
    assert match.field is not None
    value = _field_value(meta, match.field)
    # JSON equality: true is not 1
    same_kind = isinstance(value, bool) == isinstance(match.equals, bool)
    return value is not _MISSING and same_kind and value == match.equals


def route_of(routes: Iterable[TeacherRoute], meta: dict[str, Any] | None, default: int) -> int:
    """The teacher of a prompt: the first route that matches its metadata, else the default."""
    for r in routes:
        if matches(r.match, meta):
            return r.teacher_id
    return default


def teacher_ids(routes: Iterable[TeacherRoute], default: int | None) -> list[int]:
    """Every teacher a recipe's routes name, the default first, each once."""
    out = [default] if default is not None else []
    for r in routes:
        if r.teacher_id not in out:
            out.append(r.teacher_id)
    return out


def check_routes(session: Any, project: Any, routes: list[TeacherRoute], where: str) -> list[Any]:
    """The routes' teachers, each one of the project's (another project's is a 404 naming the field)."""
    from backend.core.errors import NotFound
    from backend.teachers.models import Teacher

    found = []
    for i, r in enumerate(routes):
        teacher = session.get(Teacher, r.teacher_id)
        if teacher is None or teacher.project_id != project.id:
            message = f"{where}[{i}].teacher_id: teacher {r.teacher_id} not found"
            path = f"body.recipe.{where}.{i}.teacher_id"
            raise NotFound(message, fields=[{"path": path, "message": message}])
        found.append(teacher)
    return found
