"""Benchmarks: which models a benchmark stage runs (the run's base, student and teacher, or named ones)
and which suite folders it may read, checked at run creation and again by the worker; and reading the
stored results. The harness itself runs in workers/benchmarks/harness.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Invalid, NotFound
from backend.core.local_paths import Where, locate
from backend.datasets.models import ModelArtifact
from backend.evals.benchmark_schemas import BenchmarkSettings, BenchModel
from backend.evals.models import BenchmarkResult
from backend.projects.models import Project
from backend.runs.models import Run
from backend.teachers.models import Teacher
from backend.teachers.schemas import runs_locally
from backend.training.model_refs import resolve_model


@dataclass
class BenchContender:
    """One model as the harness takes it: a local folder or hub id (`hf`), or an endpoint."""

    label: str
    role: str
    model: str  # what is loaded (hf) or the model name the endpoint serves
    options: BenchModel
    artifact_id: int | None = None
    base_url: str | None = None  # an endpoint's /v1 URL
    teacher_id: int | None = None  # whose stored key the worker reads for the endpoint


def suite_folder(project_id: int, path: str, *, field: str) -> Path:
    """The folder a suite names, resolved, if the administrator allows it (DISTILLERY_BENCHMARK_ROOTS):
    a task YAML may import Python beside it, so a path is never taken from a user unchecked."""
    real, where = locate(path, project_id=project_id, roots=get_settings().benchmark_roots)
    if where is Where.foreign:
        raise NotFound(f"{field}: suite folder not found", fields=[{"path": field, "message": "not found"}])
    if where is Where.outside:
        message = (
            "suite folders must lie under a folder the administrator allows (DISTILLERY_BENCHMARK_ROOTS)"
        )
        raise Invalid(f"{field}: {message}", code="suite_path_not_allowed",
                      fields=[{"path": field, "message": message}])  # fmt: skip
    if not real.is_dir() or not any(real.rglob("*.yaml")):
        message = "no folder of lm-eval task YAMLs there"
        raise Invalid(
            f"{field}: {message}", code="suite_missing", fields=[{"path": field, "message": message}]
        )
    return real


def _teacher(session: Session, project_id: int, teacher_id: int, field: str) -> Teacher:
    teacher = session.get(Teacher, teacher_id)
    if teacher is None or teacher.project_id != project_id:
        raise NotFound(f"{field}: teacher {teacher_id} not found",
                       fields=[{"path": field, "message": "not found"}])  # fmt: skip
    return teacher


def check_benchmark_references(session: Session, project: Project, recipe: Any) -> None:
    """At run creation: every suite folder allowed and there, every model and teacher this project's."""
    bench: BenchmarkSettings = recipe.settings_of("benchmark")
    for i, suite in enumerate(bench.suites):
        suite_folder(project.id, suite.path, field=f"body.recipe.benchmark.suites.{i}.path")
    for i, m in enumerate(bench.models):
        if m.model is not None:
            resolve_model(session, project.id, m.model, field=f"body.recipe.benchmark.models.{i}.model")
        if m.teacher_id is not None:
            _teacher(session, project.id, m.teacher_id, f"body.recipe.benchmark.models.{i}.teacher_id")


def contenders(session: Session, run: Run, settings: BenchmarkSettings) -> list[BenchContender]:
    """The models to run; a default the run does not have (no teacher, nothing trained) is left out, a
    model asked for by name that cannot be resolved is an error (as the evaluate stage's)."""
    recipe = run.recipe or {}
    artifact = session.scalar(
        select(ModelArtifact).where(ModelArtifact.run_id == run.id).order_by(ModelArtifact.id.desc()).limit(1)
    )
    base = (recipe.get("train") or {}).get("student") if "train" in recipe.get("stages", []) else None
    out = []
    for m in settings.models:
        label = m.label or m.role
        field = f"benchmark.models: {label!r}"
        teacher_id = m.teacher_id or (run.teacher_id if m.role == "teacher" and m.model is None else None)
        if teacher_id is not None:
            teacher = _teacher(session, run.project_id, teacher_id, field)
            if runs_locally(teacher.backend, teacher.base_url):
                model = resolve_model(session, run.project_id, teacher.model, field=field)
                out.append(BenchContender(label, m.role, model, m))
            else:
                out.append(
                    BenchContender(label, m.role, teacher.model, m, None, teacher.base_url, teacher.id)
                )
            continue
        if m.model is not None:
            out.append(
                BenchContender(label, m.role, resolve_model(session, run.project_id, m.model, field=field), m)
            )
        elif m.role == "student" and artifact is not None:
            out.append(BenchContender(label, m.role, artifact.path, m, artifact.id))
        elif m.role == "base" and base is not None:
            out.append(
                BenchContender(label, m.role, resolve_model(session, run.project_id, base, field=field), m)
            )
        elif m.role == "other":
            raise Invalid(f"{field} names no model", code="benchmark_model_missing")
    if not out:
        raise Invalid("benchmark: no model to run (no teacher, no trained student, none named)",
                      code="benchmark_nothing")  # fmt: skip
    return out


def results_of(session: Session, *, run: Run) -> list[BenchmarkResult]:
    """A run's benchmark scores, per model and task, in the order they were stored."""
    return list(
        session.scalars(
            select(BenchmarkResult).where(BenchmarkResult.run_id == run.id).order_by(BenchmarkResult.id)
        )
    )
