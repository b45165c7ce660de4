"""On-policy distillation against a served teacher, through the API and a real worker: the student
(the tiny model's vocabulary, fresh weights) samples and vLLM's CPU build scores the samples with prompt
logprobs (workers/training/served.py). A vllm teacher's server is started by the worker and stopped
after training; an endpoint that is a vLLM server is asked over HTTP. Refused before any step: a teacher
of another vocabulary (no server is started for it), an endpoint whose vocabulary cannot be known, and
one whose scores are noise (tests/fakes/fake_noisy_vllm.py: the same text scored twice differs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fake_noisy_vllm import noisy_proxy
from tests.standins import build as build_standin
from tests.support.env import DATA_DIR
from tests.support.models import tiny_model, tiny_peer
from tests.support.teachers import make_teacher, openai_teacher
from tests.support.vllm import VLLM_PYTHON, vllm_processes
from tests.workers.train_helpers import (
    conversations,
    make_snapshot,
    post_train,
    project_with_prompts,
    train_run,
)

needs_vllm = pytest.mark.skipif(
    not VLLM_PYTHON.exists(), reason="vLLM's CPU build is missing: run scripts/setup-vllm.sh"
)
# On the CPU build gpu_memory_utilization is a share of the host's RAM (for the KV cache): keep it small
VLLM = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "gpu_memory_utilization": 0.05}
TRAIN = {"method": "distill", "max_steps": 2, "per_device_batch_size": 2, "max_completion_length": 8,
         "beta": 1.0, "learning_rate": 1e-3}  # fmt: skip


@pytest.fixture(scope="module")
def student() -> str:
    return tiny_peer()


def test_the_served_settings_are_checked_with_their_paths(client, accounts, tmp_path):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    r = post_train(client, h, pid, pset, {"snapshot_id": 1, "method": "distill", "teacher_top_k": 4})
    assert r.status_code == 422 and "teacher_top_k above 1 needs beta 0 (forward KL)" in r.text, r.text
    for bad, path in (
        ({"teacher_top_k": 21}, "teacher_top_k"),
        ({"self_test_tolerance": -1}, "self_test_tolerance"),
    ):
        r = post_train(client, h, pid, pset, {"snapshot_id": 1, "method": "distill", **bad})
        assert r.status_code == 422 and f"body.recipe.train.{path}" in [
            f["path"] for f in r.json()["error"]["fields"]
        ]


def _refused(run: dict, code_words: str) -> str:
    assert run["status"] == "failed", run
    [stage] = run["stages"]
    assert code_words in stage["error"], stage["error"]
    assert (stage["metrics"] or {}).get("step", 0) == 0  # refused before the report: no metrics yet
    assert not list((DATA_DIR / "training").glob(f"*/run-{run['id']}/*/checkpoint-*"))  # nothing trained
    return stage["error"]


@needs_vllm
def test_distill_against_a_vllm_teacher_the_worker_starts(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=21), pairs=False)
    teacher = str(tiny_model())
    tid = make_teacher(client, h, pid, name="served", backend="vllm", model=teacher, settings=VLLM)
    run = train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap}, timeout=900,
                    teacher_id=tid)  # fmt: skip
    assert run["status"] == "succeeded", [s["error"] for s in run["stages"]]
    s = run["summary"]["train"]
    assert s["method"] == "distill" and s["step"] == 2
    # the reverse KL to a teacher the random student is not: above zero at every logged step (a
    # student distilled from itself logs ~1e-9)
    assert [p["step"] for p in s["series"]] == [1, 2] and all(p["loss"] > 1e-5 for p in s["series"])
    assert (Path(s["path"]) / "model.safetensors").is_file()
    assert vllm_processes(teacher) == []  # the server was stopped once training ended


def test_a_teacher_of_another_vocabulary_is_refused_before_its_server_starts(
    client, accounts, tmp_path, student, celery_worker
):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(2, seed=22), pairs=False)
    other = str(build_standin("qwen2.5"))
    tid = make_teacher(client, h, pid, name="qwen", backend="vllm", model=other, settings=VLLM)
    run = train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap}, teacher_id=tid)
    error = _refused(run, "the teacher's tokenizer (its model folder")
    assert "differs from the student's (" in error and "same vocabulary" in error
    assert vllm_processes(other) == []


def test_an_endpoint_whose_vocabulary_cannot_be_known_is_refused(
    client, accounts, tmp_path, student, celery_worker
):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(2, seed=23), pairs=False)
    tid = openai_teacher(client, h, pid, "gpt-x", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    run = train_run(client, h, pid, pset, {**TRAIN, "student": student, "snapshot_id": snap}, teacher_id=tid)
    error = _refused(run, "vocabulary cannot be known: its /tokenize failed")
    assert "serve the teacher with vLLM" in error


@pytest.fixture(scope="module")
def vllm_endpoint():
    """A vLLM server over the tiny model that the test starts itself: an endpoint, to the platform."""
    from workers.teachers.vllm_server import VLLMServer, VLLMServerSpec

    with VLLMServer(VLLMServerSpec.from_settings(str(tiny_model()), VLLM)) as server:
        yield server


@needs_vllm
def test_distill_against_a_vllm_endpoint_and_a_noisy_one_refused(
    client, accounts, tmp_path, student, vllm_endpoint, celery_worker
):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=24), pairs=False)
    train = {**TRAIN, "student": student, "snapshot_id": snap}
    name = vllm_endpoint.served_name
    tid = openai_teacher(client, h, pid, name, vllm_endpoint.base_url)
    run = train_run(client, h, pid, pset, train, timeout=600, teacher_id=tid)
    assert run["status"] == "succeeded", [s["error"] for s in run["stages"]]
    assert run["summary"]["train"]["step"] == 2 and run["summary"]["train"]["loss"] > 1e-5

    root = vllm_endpoint.base_url.removesuffix("/v1")
    with noisy_proxy(root, noise=0.5) as url:
        noisy = make_teacher(client, h, pid, name="noisy", backend="openai_compat", model=name, base_url=url)
        run = train_run(client, h, pid, pset, train, teacher_id=noisy)
    error = _refused(run, "logprob self-test failed: the same")
    assert "above train.self_test_tolerance 0.05" in error and "differ by up to" in error
