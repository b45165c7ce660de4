"""Pushing to the Hub on the real worker, against tests/fakes/fake_hub.py (a FAKE Hub recording what
huggingface_hub sends), then the round trip: what was pushed loads back with `datasets` and
`transformers` from the recorded files. A refused token and an unreachable Hub fail the job saying
which, the second as an infrastructure error; a repeated push commits nothing new."""

from __future__ import annotations

import socket

import pytest

from tests.fakes.fake_hub import FakeHub
from tests.support.env import run_cli
from tests.support.hub import ROWS, make_pushable, recorded_folder
from tests.support.waiting import wait_job

TOKEN = "hf_fakeWriteToken0123456789abcdef"


@pytest.fixture
def hub():
    fake = FakeHub(token=TOKEN).start()
    yield fake
    fake.stop()


def _setup(client, accounts, hub_url: str, token: str = TOKEN):
    owner, maintainer = accounts.user(), accounts.user()
    pid = accounts.project(owner, maintainer=maintainer)
    h = maintainer["headers"]
    r = client.patch(f"/api/projects/{pid}/hub", json={"endpoint": hub_url, "token": token}, headers=h)
    assert r.status_code == 200, r.text
    return pid, h


def _push(client, h, pid: int, kind: str, object_id: int, repo_id: str, private: bool = True) -> dict:
    r = client.post(
        f"/api/projects/{pid}/{kind}s/{object_id}/push",
        json={"repo_id": repo_id, "private": private},
        headers=h,
    )
    assert r.status_code == 202, r.text
    return wait_job(client, h, pid, r.json()["job_id"])


def test_a_snapshot_and_a_student_pushed_load_back(client, accounts, celery_worker, hub, tmp_path):
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    pid, h = _setup(client, accounts, hub.url)
    made = make_pushable(pid)

    job = _push(client, h, pid, "snapshot", made["snapshot_id"], "team/times-seven-data")
    assert job["status"] == "succeeded", job
    assert job["result"]["url"] == f"{hub.url}/datasets/team/times-seven-data"
    repo = hub.repo("dataset", "team/times-seven-data")
    assert repo.private and set(repo.files) == {"messages.parquet", "README.md"}
    assert "messages.parquet" in repo.lfs  # binary: through the LFS batch API and an upload, as on the Hub
    assert repo.files["README.md"].decode().startswith("---\npretty_name:")
    assert made["content_hash"] in repo.files["README.md"].decode()
    # every call carries the token, but the pre-signed upload (as S3's: the Hub's href needs none)
    assert all(r["authorised"] for r in hub.requests if not r["path"].startswith("/lfs-upload/"))

    # the round trip: the recorded repository loads with datasets, by its card's config and by file
    folder = recorded_folder(repo, tmp_path / "dataset")
    by_card = datasets.load_dataset(str(folder), "messages", split="train")
    by_file = datasets.load_dataset("parquet", data_files=str(folder / "messages.parquet"), split="train")
    assert by_card["messages"] == by_file["messages"] == [r["messages"] for r in ROWS]

    # the same push again: the Hub already holds every file unchanged, so no new commit
    again = _push(client, h, pid, "snapshot", made["snapshot_id"], "team/times-seven-data")
    assert again["status"] == "succeeded" and len(repo.commits) == 1
    assert again["result"]["commit"] == job["result"]["commit"]

    job = _push(client, h, pid, "model", made["model_id"], "team/times-seven-student", private=False)
    assert job["status"] == "succeeded", job
    model_repo = hub.repo("model", "team/times-seven-student")
    assert not model_repo.private and "model.safetensors" in model_repo.lfs
    assert "training_args.bin" not in model_repo.files  # training state stays home
    assert {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"} <= set(
        model_repo.files
    )
    folder = recorded_folder(model_repo, tmp_path / "model")
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    original = AutoTokenizer.from_pretrained(made["model_folder"])
    assert model.config.model_type == "qwen2"
    assert tokenizer.chat_template == original.chat_template and "<|im_start|>" in tokenizer.chat_template
    assert (
        GenerationConfig.from_pretrained(folder).to_dict()
        == GenerationConfig.from_pretrained(made["model_folder"]).to_dict()
    )

    card = model_repo.files["README.md"].decode()
    for fact in (
        "base_model: Qwen/Qwen2.5-0.5B-Instruct",
        f"- teacher: {made['teacher']} (`org/big-teacher`, openai_compat), licence terms: open_weights",
        f"sha256 `{made['content_hash']}`",
        '- selection: `{"max_per_prompt":1,"reasoning":"keep"}`',
        '- filter: `{"mode":"all","verifiers":[{"name":"math"}]}`',
        "| pass@1 | 95% interval |",
        "| 50.0% | 25.0% to 75.0% |",
        f"[team/times-seven-data]({hub.url}/datasets/team/times-seven-data)",
        "datasets:\n- team/times-seven-data\n",
        "## Recipe",
    ):
        assert fact in card, fact

    pushes = client.get(f"/api/projects/{pid}/hub/pushes", headers=h).json()
    assert {(p["kind"], p["url"], p["status"]) for p in pushes} == {
        ("snapshot", f"{hub.url}/datasets/team/times-seven-data", "succeeded"),
        ("model", f"{hub.url}/team/times-seven-student", "succeeded"),
    }


def test_a_lora_adapter_is_pushed_as_an_adapter_and_loads_on_its_base(
    client, accounts, celery_worker, hub, tmp_path
):
    import shutil

    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from tests.standins import build

    pid, h = _setup(client, accounts, hub.url)
    made = make_pushable(pid)
    base = build("qwen2.5")
    folder = made["model_folder"]
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    adapter = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=4, target_modules=["q_proj"])
    )
    adapter.save_pretrained(folder)
    shutil.copy(base / "config.json", folder / "config.json")

    job = _push(client, h, pid, "model", made["model_id"], "team/times-seven-lora")
    assert job["status"] == "succeeded", job
    repo = hub.repo("model", "team/times-seven-lora")
    assert {"adapter_config.json", "adapter_model.safetensors", "chat_template.jinja"} <= set(repo.files)
    assert "model.safetensors" not in repo.files
    loaded = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base), recorded_folder(repo, tmp_path / "lora")
    )
    assert "q_proj" in str(loaded.peft_config["default"].target_modules)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


def test_a_refused_token_and_an_unreachable_hub_say_which(client, accounts, celery_worker, hub):
    wrong = "hf_wrongToken9876543210zyxwvu"
    pid, h = _setup(client, accounts, hub.url, token=wrong)
    made = make_pushable(pid)

    job = _push(client, h, pid, "snapshot", made["snapshot_id"], "team/refused")
    assert job["status"] == "failed" and job["error"]["code"] == "hub_token_refused", job
    assert job["error"]["message"].startswith("the Hub token was refused")
    assert wrong not in str(job) and not hub.repos
    pushes = client.get(f"/api/projects/{pid}/hub/pushes", headers=h).json()
    assert pushes[0]["status"] == "failed" and pushes[0]["url"] is None and wrong not in str(pushes)

    client.patch(
        f"/api/projects/{pid}/hub", json={"endpoint": f"http://127.0.0.1:{_closed_port()}"}, headers=h
    )
    job = _push(client, h, pid, "model", made["model_id"], "team/unreachable")
    assert job["status"] == "failed" and job["error"]["code"] == "hub_unreachable", job
    assert job["error"]["details"]["infrastructure"] is True
    assert "infrastructure error, not a verdict on the data" in job["error"]["message"]
    assert wrong not in str(job)

    # the right token and a reachable Hub: the same push row goes through (a retry)
    client.patch(f"/api/projects/{pid}/hub", json={"endpoint": hub.url, "token": TOKEN}, headers=h)
    job = _push(client, h, pid, "model", made["model_id"], "team/unreachable")
    assert job["status"] == "succeeded", job
    pushes = client.get(f"/api/projects/{pid}/hub/pushes?kind=model", headers=h).json()
    assert len(pushes) == 1 and pushes[0]["url"] == f"{hub.url}/team/unreachable"


def test_the_cli_sets_the_token_from_stdin_and_pushes(client, accounts, celery_worker, hub):
    owner = accounts.user()
    pid = accounts.project(owner)
    made = make_pushable(pid)
    out = run_cli("hub", "set", str(pid), "--endpoint", hub.url, "--token", stdin=f"{TOKEN}\n")
    assert out.returncode == 0, out.stderr
    assert "a token is set" in out.stderr and TOKEN not in out.stdout + out.stderr

    refused = run_cli(
        "hub", "push", "snapshot", str(made["snapshot_id"]), "--project", str(pid), "--repo", "x"
    )
    assert refused.returncode == 2 and "repo_id" in refused.stderr  # the Hub's id rule, before any job

    out = run_cli(
        "hub", "push", "snapshot", str(made["snapshot_id"]), "--project", str(pid), "--repo", "team/cli"
    )
    assert out.returncode == 0, out.stderr
    assert f"pushed to {hub.url}/datasets/team/cli" in out.stderr
    assert hub.repo("dataset", "team/cli").private

    out = run_cli("hub", "set", str(pid), "--clear-token")
    assert out.returncode == 0 and "no token" in out.stderr
    out = run_cli("hub", "push", "model", str(made["model_id"]), "--project", str(pid), "--repo", "team/m")
    assert out.returncode == 1 and "no Hub token" in out.stderr
