"""Every id and model a recipe or a teacher names is checked when it is created, before a rollout is paid
for: another project's id is a 404 (as every foreign id), what the project lacks a 422 naming the field.
Models a worker loads itself (a local teacher, the student, an evaluated model) are hub ids, this
project's artifacts (artifact:<id>) or paths under the administrator's roots (DISTILLERY_MODEL_ROOTS),
never another project's training folder, whatever the roots say; the worker checks again before it loads.
"""

from __future__ import annotations

import pytest

from backend.core import local_paths
from backend.core.config import Settings, get_settings
from backend.core.db import session_scope
from backend.core.errors import NotFound
from backend.datasets.models import ModelArtifact
from backend.teachers.models import Teacher
from backend.training import model_refs
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.teachers import make_teacher

RUBRIC = {"template": "Q: {question}\nA: {answer}\nJSON score 1-5", "scale_min": 1, "scale_max": 5}


@pytest.fixture
def two(client, accounts, tmp_path):
    """Projects A and B of two owners, each with a ready prompt set and a teacher; B has a trained model
    (its folder under the data directory, where the train stage writes)."""
    out = []
    for name in ("a", "b"):
        owner = accounts.user()
        pid = accounts.project(owner)
        rows = [{"prompt": f"{name}{i}"} for i in range(3)]
        pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{name}.jsonl", rows))
        tid = make_teacher(client, owner["headers"], pid, backend="openai_compat", model="m",
                           base_url="https://api.example.com/v1")  # fmt: skip
        out.append({"h": owner["headers"], "pid": pid, "pset": pset, "tid": tid})
    b = out[1]
    folder = get_settings().data_dir / "training" / str(b["pid"]) / "run-1" / "stage-1" / "final"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    with session_scope() as s:
        art = ModelArtifact(project_id=b["pid"], base_model="x/y", method="sft", path=str(folder))
        s.add(art)
        s.flush()
        b["artifact"], b["folder"] = art.id, str(folder)
    return out


def _run(client, p, **recipe):
    body = {"prompt_set_id": p["pset"], "teacher_id": p["tid"], **recipe}
    return client.post(f"/api/projects/{p['pid']}/runs", headers=p["h"], json={"name": "r", "recipe": body})


def _fields(r) -> dict[str, str]:
    return {f["path"]: f["message"] for f in r.json()["error"].get("fields") or []}


def _nothing_created(client, p) -> None:
    runs = client.get(f"/api/projects/{p['pid']}/runs", headers=p["h"]).json()["items"]
    assert runs == []


def test_a_judge_teacher_of_another_project_is_a_404_at_creation(client, two):
    a, b = two
    client.post(f"/api/projects/{a['pid']}/rubrics", headers=a["h"], json=RUBRIC)
    bodies = []
    for tid in (b["tid"], 999_999):
        r = _run(client, a, stages=["rollout", "judge"], judge={"teacher_id": tid})
        assert r.status_code == 404, r.text
        assert "body.recipe.judge.teacher_id" in _fields(r)
        bodies.append(r.text.replace(str(tid), "ID"))
    assert bodies[0] == bodies[1]  # another project's teacher answers as a missing one
    _nothing_created(client, a)


def test_a_rubric_version_the_project_lacks_is_a_422_naming_the_field(client, two):
    a, b = two
    r = _run(client, a, stages=["rollout", "judge"])  # no rubric at all
    assert r.status_code == 422, r.text
    assert "body.recipe.judge.rubric_version" in _fields(r)
    client.post(f"/api/projects/{b['pid']}/rubrics", headers=b["h"], json=RUBRIC)  # B's version 1
    client.post(f"/api/projects/{a['pid']}/rubrics", headers=a["h"], json=RUBRIC)
    r = _run(client, a, stages=["rollout", "judge"], judge={"rubric_version": 2})
    assert r.status_code == 422 and "body.recipe.judge.rubric_version" in _fields(r), r.text
    _nothing_created(client, a)
    ok = _run(client, a, stages=["rollout", "judge"], judge={"rubric_version": 1})
    assert ok.status_code == 202, ok.text


def test_an_evaluate_prompt_set_of_another_project_is_a_404(client, two):
    a, b = two
    r = _run(client, a, stages=["evaluate"], evaluate={"prompt_set_id": b["pset"]})
    assert r.status_code == 404 and "body.recipe.evaluate.prompt_set_id" in _fields(r), r.text
    _nothing_created(client, a)


def test_another_projects_model_is_a_404_by_id_and_by_path(client, two):
    """B's model, named by its artifact id or by its folder (predictable from A's own model paths), as
    A's evaluated model, A's student and A's local teacher: all answer as a missing id would."""
    a, b = two
    nowhere = str(get_settings().data_dir / "training" / "999999" / "run-1" / "stage-1" / "final")
    missing = {}
    for ref in ("artifact:999999", nowhere):
        r = _run(client, a, stages=["evaluate"], evaluate={"models": [{"role": "other", "model": ref}]})
        assert r.status_code == 404, r.text
        missing[ref.startswith("artifact:")] = r.json()["error"]["message"].replace("999999", "ID")
    for ref in (f"artifact:{b['artifact']}", b["folder"], b["folder"] + "/../final", b["folder"] + "/"):
        r = _run(client, a, stages=["evaluate"], evaluate={"models": [{"role": "other", "model": ref}]})
        assert r.status_code == 404, (ref, r.text)
        message = r.json()["error"]["message"].replace(str(b["artifact"]), "ID")
        assert message == missing[ref.startswith("artifact:")]  # as a missing one: nothing about B
        assert "body.recipe.evaluate.models.0.model" in _fields(r)
        r = _run(client, a, stages=["train"], train={"student": ref, "snapshot_id": None})
        assert r.status_code in (404, 422), r.text  # 422 where train needs a snapshot stage first
        if r.status_code == 404:
            assert "body.recipe.train.student" in r.text
        r = client.post(f"/api/projects/{a['pid']}/teachers", headers=a["h"],
                        json={"name": "t2", "backend": "transformers_local", "model": ref})  # fmt: skip
        assert r.status_code == 404 and "body.model" in _fields(r), r.text
    _nothing_created(client, a)


def test_a_symlink_into_another_projects_folder_is_refused(client, two, tmp_path):
    a, b = two
    link = tmp_path / "innocent"
    link.symlink_to(b["folder"])
    r = client.post(f"/api/projects/{a['pid']}/teachers", headers=a["h"],
                    json={"name": "t3", "backend": "vllm", "model": str(link)})  # fmt: skip
    assert r.status_code == 404, r.text


def test_own_artifacts_are_named_by_id(client, two):
    a, b = two
    r = _run(client, b, stages=["evaluate"], evaluate={"models": [{"role": "other",
             "model": f"artifact:{b['artifact']}"}]})  # fmt: skip
    assert r.status_code == 202, r.text
    mine = {"name": "mine", "backend": "transformers_local", "model": f"artifact:{b['artifact']}"}
    r = client.post(f"/api/projects/{b['pid']}/teachers", headers=b["h"], json=mine)
    assert r.status_code == 201, r.text


@pytest.fixture
def roots(monkeypatch):
    """Production settings with the given DISTILLERY_MODEL_ROOTS (None: unset)."""

    def use(value: str | None) -> None:
        s = Settings(environment="production", secret_key="x" * 32, data_dir=get_settings().data_dir,
                     model_roots=value)  # fmt: skip
        for module in (model_refs, local_paths):  # the rule (local_paths) and its model use
            monkeypatch.setattr(module, "get_settings", lambda: s)

    return use


def test_local_paths_lie_under_the_administrators_roots(client, two, tmp_path, roots):
    a, _ = two
    allowed, other = tmp_path / "models", tmp_path / "elsewhere"
    for folder in (allowed / "m", other / "m"):
        folder.mkdir(parents=True)

    def teacher(model: str, name: str):
        return client.post(f"/api/projects/{a['pid']}/teachers", headers=a["h"],
                           json={"name": name, "backend": "transformers_local", "model": model})  # fmt: skip

    roots(None)  # production, unset: no local path at all; hub ids still work
    r = teacher(str(allowed / "m"), "p0")
    assert r.status_code == 422 and r.json()["error"]["code"] == "model_path_not_allowed", r.text
    assert "DISTILLERY_MODEL_ROOTS" in _fields(r)["body.model"]
    assert teacher("Qwen/Qwen2.5-1.5B-Instruct", "hub").status_code == 201
    roots(str(allowed))
    assert teacher(str(allowed / "m"), "p1").status_code == 201
    assert teacher(str(other / "m"), "p2").status_code == 422
    assert teacher(str(allowed / ".." / "elsewhere" / "m"), "p3").status_code == 422  # resolved, not text
    assert teacher("/etc", "p4").status_code == 422
    r = teacher("not a hub id!", "p5")
    assert r.status_code == 422 and "body.model" in _fields(r), r.text
    roots("*")
    assert teacher(str(other / "m"), "p6").status_code == 201


def test_the_worker_checks_again_before_it_loads(client, two, roots, tmp_path):
    """A teacher saved while any path was allowed, or written around the API, does not load once the
    administrator narrows the roots; one pointing into another project's folder never does."""
    from workers.teachers.factory import teacher_spec

    a, b = two
    folder = tmp_path / "m"
    folder.mkdir()
    with session_scope() as s:
        own = Teacher(project_id=a["pid"], name="w1", backend="vllm", model=str(folder), settings={})
        foreign = Teacher(project_id=a["pid"], name="w2", backend="transformers_local", model=b["folder"],
                          settings={})  # fmt: skip
        by_id = Teacher(project_id=b["pid"], name="w3", backend="transformers_local",
                        model=f"artifact:{b['artifact']}", settings={})  # fmt: skip
        s.add_all([own, foreign, by_id])
        s.flush()
        assert teacher_spec(own).model == str(folder)
        assert teacher_spec(by_id).model == b["folder"]
        with pytest.raises(NotFound):
            teacher_spec(foreign)
        roots(str(tmp_path / "elsewhere"))
        with pytest.raises(Exception, match="DISTILLERY_MODEL_ROOTS"):
            teacher_spec(own)
        s.rollback()
