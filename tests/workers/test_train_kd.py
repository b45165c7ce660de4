"""kd through the API and a real Celery worker, on faithful stand-ins (tests/standins.py) whose
vocabularies are real: Llama 3.2's student learns from Llama 3.1's cached top-K (the same vocabulary
under another name and template); Qwen 2.5's cache is refused for it by content, as is a snapshot
without a cache or with no row for any example. An example without a row (a reviewer's edit) is left
out and counted. Nothing is trained when refused."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.standins import build
from tests.support.env import DATA_DIR
from tests.support.logprobs import snapshot_folder, write_teacher_cache
from tests.workers.train_helpers import conversations, make_snapshot, project_with_prompts, train_run

TRAIN = {"method": "kd", "max_steps": 2, "per_device_batch_size": 4, "learning_rate": 1e-3, "alpha": 0.5}


@pytest.fixture(scope="module")
def student() -> str:
    return str(build("llama3.2"))


def _refused(run) -> dict:
    assert run["status"] == "failed", run
    stage = run["stages"][0]
    assert "pre-flight checks failed, nothing trained" in stage["error"], stage["error"]
    assert stage["metrics"]["step"] == 0 and stage["metrics"]["artifact_id"] is None
    assert not list((DATA_DIR / "training").glob(f"*/run-{run['id']}/*/checkpoint-*"))
    return stage


def _tamper(path: Path, generation_id: int) -> None:
    """One row's tokens replaced: another text than the student's trained turn (a token or two that
    differ, as a re-rendered separator does, are aligned around: tests/test_kd_align.py)."""
    table = pq.read_table(path)
    rows = table.to_pylist()
    for r in rows:
        if r["generation_id"] == generation_id:
            r["token_ids"] = [(t + 1) % 1000 for t in r["token_ids"]]
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path, row_group_size=4)


def test_kd_trains_on_the_teachers_cached_top_k(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(9, seed=20), pairs=False)
    cache = write_teacher_cache(snapshot_folder(snap), str(build("llama3.1")), k=4, skip={10_007})
    _tamper(cache, 10_008)
    run = train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap})
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert s["method"] == "kd" and s["step"] == 2 and s["loss"] > 0 and s["examples"] == 7
    by = {c["name"]: c for c in s["checks"]}
    assert by["teacher_vocab"]["passed"]
    rows = by["teacher_logprobs"]
    assert rows["passed"] and rows["count"] == 1 and rows["examples"] == ["generation 10007: no row"]
    tokens = by["teacher_tokens"]
    assert tokens["passed"] and tokens["count"] == 1 and tokens["total"] == 8
    assert tokens["examples"][0].startswith("generation 10008: token 0")
    assert all(p["loss"] is not None and p["ce"] > 0 and p["kl"] > 0 for p in s["series"])
    assert (Path(s["path"]) / "model.safetensors").is_file()
    m = client.get(f"/api/projects/{pid}/models/{s['artifact_id']}", headers=h).json()
    assert m["method"] == "kd" and m["metrics"]["recipe"]["alpha"] == 0.5


def test_a_cache_of_another_vocabulary_is_refused(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=21), pairs=False)
    teacher = str(build("qwen2.5"))
    write_teacher_cache(snapshot_folder(snap), teacher, k=2)
    stage = _refused(train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap}))
    assert "teacher_vocab: 1 of 1" in stage["error"]
    assert f"the vocabularies of the teacher {teacher} and the student {student} differ" in stage["error"]
    assert "a student of the teacher's family" in stage["error"]
    by = {c["name"]: c for c in stage["metrics"]["checks"]}
    assert not by["teacher_vocab"]["passed"] and by["teacher_logprobs"]["passed"]


def test_a_snapshot_without_the_cache_or_a_row_is_refused(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=22), pairs=False)
    stage = _refused(train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap}))
    assert f"snapshot {snap} has no teacher_logprobs.parquet" in stage["error"]
    assert "rollout.logprobs" in stage["error"] and "score stage" in stage["error"]

    # a cache with no row for any of them (every example a reviewer's edit): nothing left to train
    write_teacher_cache(snapshot_folder(snap), str(build("llama3.1")), k=2, skip=set(range(10_000, 10_004)))
    run = train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap})
    assert run["status"] == "failed", run
    assert "no example is left to train (teacher_logprobs: 4 excluded)" in run["stages"][0]["error"]
