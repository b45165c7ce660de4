"""The kernel's contracts: backend never imports workers, shared helpers have one home, the registries
and the worker agree, and the recipe is validated from the registry with field paths."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def test_no_backend_module_imports_workers():
    offenders = [
        f"{p.relative_to(ROOT)}:{line} imports {name}"
        for p in sorted((ROOT / "backend").rglob("*.py"))
        for line, name in _imports(p)
        if name == "workers" or name.startswith("workers.")
    ]
    assert offenders == []


def test_stages_are_peers():
    """No stage module imports another stage kind's: what two stages share lives with its owner
    (workers/verdicts.py, workers/teachers/, backend/), so a stage can be read, moved or removed alone."""
    stages = ROOT / "workers" / "stages"
    offenders = []
    for p in sorted(stages.rglob("*.py")):
        rel = p.relative_to(stages).parts
        own = rel[0].removesuffix(".py")
        for line, name in _imports(p):
            parts = name.split(".")
            if parts[:2] == ["workers", "stages"] and len(parts) > 2 and parts[2] != own:
                offenders.append(f"workers/stages/{'/'.join(rel)}:{line} imports {name}")
    assert offenders == []


def test_upserts_and_nul_scrubbing_have_one_home():
    """Every upsert takes its dialect's INSERT from backend.core.db.dialect_insert and every NUL is
    scrubbed by backend.core.db.storable: copies drifted before (one kept dict keys, one did not)."""
    home = ROOT / "backend" / "core" / "db.py"
    offenders = []
    for p in sorted([*(ROOT / "backend").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        if p == home:
            continue
        text = p.read_text()
        offenders += [
            f"{p.relative_to(ROOT)}:{line} imports {name}"
            for line, name in _imports(p)
            if name in ("sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite")
            and "import insert" in text
        ]
        if 'replace("\\x00", "\\ufffd")' in text:
            offenders.append(f"{p.relative_to(ROOT)} scrubs NUL itself")
    assert offenders == []


@pytest.mark.slow  # fresh interpreters import the API and the CLI
def test_the_api_and_cli_load_without_any_worker_module():
    code = (
        "import sys, backend.main, backend.cli, backend.demo; "
        "backend.main.create_app(); "
        "print(sorted(m for m in sys.modules if m == 'workers' or m.startswith('workers.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_registries_and_the_worker_register_the_same_tasks():
    from backend.jobs.kinds import JOBS
    from backend.runs.stages import STAGES
    from workers.celery_app import celery_app

    celery_app.loader.import_default_modules()
    registered = {name for name in celery_app.tasks if name.startswith("distillery.")}
    declared = {t for k in STAGES.values() for t in k.tasks} | {k.task for k in JOBS.values()}
    assert registered == declared
    for kind in STAGES.values():
        assert kind.queue in ("cpu", "gpu")
        assert all(r in STAGES for r in kind.requires), kind.name


def test_every_stage_kind_has_a_typed_recipe_key_and_typed_metrics_in_the_schema(app):
    from backend.runs.schemas import Recipe
    from backend.runs.stages import STAGES

    schema = app.openapi()["components"]["schemas"]
    for kind in STAGES.values():
        # a union (train: one model per method) is Annotated with its discriminator; a model is itself
        annotated = typing.get_origin(kind.settings) is typing.Annotated
        assert Recipe.model_fields[kind.name].annotation == (
            typing.get_args(kind.settings)[0] if annotated else kind.settings
        )
        assert kind.summary.__name__ in schema, kind.name
        view = schema[f"{kind.name.capitalize()}Stage"]
        assert view["properties"]["kind"]["const"] == kind.name
        assert kind.summary.__name__ in str(view["properties"]["metrics"])
    assert set(schema["RunSummary"]["properties"]) == set(STAGES)


@pytest.mark.parametrize(
    ("recipe", "path", "needle"),
    [
        ({"stages": ["profile", "nope"]}, ["body", "recipe", "stages"], "unknown stage"),
        ({"stages": ["profile", "profile"]}, ["body", "recipe", "stages"], "only once"),
        ({"stages": ["rollout"]}, ["body", "recipe", "teacher_id"], "needs teacher_id"),
        ({"rollout": {"n": 0}}, ["body", "recipe", "rollout", "n"], "greater than or equal"),
        ({"rollout": {"bogus": 1}}, ["body", "recipe", "rollout", "bogus"], "xtra"),
        ({"profile": {"percentiles": [7, 200]}}, ["body", "recipe", "profile", "percentiles"], "between"),
    ],
)
def test_recipe_errors_name_the_field(client, accounts, recipe, path, needle):
    owner = accounts.user()
    pid = accounts.project(owner)
    r = client.post(
        f"/api/projects/{pid}/runs",
        headers=owner["headers"],
        json={"name": "r", "recipe": {"prompt_set_id": 1, **recipe}},
    )
    assert r.status_code == 422, r.text
    fields = r.json()["error"]["fields"]
    hit = [f for f in fields if f["path"] == ".".join(path)]
    assert hit and needle in hit[0]["message"], fields


def test_prerequisites_come_from_the_registry(monkeypatch):
    from dataclasses import replace

    from pydantic import ValidationError

    from backend.runs import stages
    from backend.runs.schemas import Recipe

    monkeypatch.setitem(stages.STAGES, "profile", replace(stages.STAGES["profile"], requires=("rollout",)))
    with pytest.raises(ValidationError, match=r"stage 'profile' needs \['rollout'\] earlier"):
        Recipe.model_validate({"prompt_set_id": 1, "teacher_id": 1, "stages": ["profile", "rollout"]})
    ok = Recipe.model_validate({"prompt_set_id": 1, "teacher_id": 1, "stages": ["rollout", "profile"]})
    assert ok.stages == ["rollout", "profile"]


def test_stage_kinds_route_lists_each_contract(client, accounts):
    owner = accounts.user()
    pid = accounts.project(owner)
    kinds = {
        k["name"]: k for k in client.get(f"/api/projects/{pid}/stage-kinds", headers=owner["headers"]).json()
    }
    assert kinds["rollout"]["needs_teacher"] is True
    assert "n" in kinds["rollout"]["settings_schema"]["properties"]
    assert kinds["profile"]["requires"] == []


def test_verifier_kinds_route_lists_the_registry(client, accounts):
    from backend.verifiers.registry import VERIFIERS

    owner = accounts.user()
    pid = accounts.project(owner)
    got = client.get(f"/api/projects/{pid}/verifier-kinds", headers=owner["headers"]).json()
    assert [k["name"] for k in got] == list(VERIFIERS)
    math = next(k for k in got if k["name"] == "math")
    assert math["version"] == VERIFIERS["math"].version and math["help"]
    assert math["settings_schema"]["type"] == "object"
    stranger = accounts.user()
    assert client.get(f"/api/projects/{pid}/verifier-kinds", headers=stranger["headers"]).status_code == 404
