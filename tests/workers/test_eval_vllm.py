"""Evaluating a trained stand-in student (tests/standins.py: Qwen2.5's real vocabulary and original chat
template, tiny weights) through vLLM's CPU build and through transformers, in one run through the API and
a real worker: the student is trained and saved, the evaluate stage starts vLLM over the saved folder
(workers/teachers/vllm_server.py, the vllm teacher's code) and asks it through the OpenAI-compatible
client, then generates in-process; both are scored, both were served the family's original template,
and the server is gone afterwards. vLLM starts once (about a minute on two cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standins import FAMILIES, build, original_template
from tests.support.conversations import convos
from tests.support.env import unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.vllm import VLLM_PYTHON, vllm_processes
from tests.support.waiting import wait_run
from tests.workers.train_helpers import make_snapshot

PROMPTS = [{"prompt": f"What is two plus two? ({i})", "reference": "4"} for i in range(3)]
# On the CPU build gpu_memory_utilization is a share of the host's RAM (for the KV cache): keep it small
VLLM = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "gpu_memory_utilization": 0.05}


def test_eval_model_settings_are_checked_against_the_backend():
    from backend.evals.schemas import EvalModel

    m = EvalModel(role="student", backend="vllm", settings={**VLLM, "reasoning_parser": "qwen3"})
    assert m.settings["gpu_memory_utilization"] == 0.05 and m.settings["reasoning_parser"] == "qwen3"
    for backend, bad in (
        ("vllm", {"gpu_memory_utilization": 2}),
        ("transformers_local", {"max_model_len": 8}),
    ):
        with pytest.raises(ValueError, match="not valid for backend"):
            EvalModel(role="student", backend=backend, settings=bad)


@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason="vLLM's CPU build is missing: run scripts/setup-vllm.sh")
def test_a_trained_standin_is_evaluated_through_vllm_and_transformers(
    client, accounts, tmp_path, celery_worker
):
    from transformers import AutoTokenizer

    fam = FAMILIES["qwen2.5"]
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS))
    snap = make_snapshot(pid, convos(4), pairs=False)
    train = {"student": str(build("qwen2.5")), "snapshot_id": snap, "max_steps": 2,
             "per_device_batch_size": 2, "learning_rate": 1e-3}  # fmt: skip
    models = [
        {"role": "student", "label": "vllm", "backend": "vllm", "settings": VLLM},
        {"role": "student", "label": "transformers", "backend": "transformers_local"},
    ]
    # sampled, seeded: greedy decoding of tiny random weights repeats one token, here whitespace, which
    # the client rightly treats as an empty answer
    evaluate = {"split": "all", "max_tokens": 8, "k": 2, "temperature": 1.0, "seed": 1, "models": models}
    recipe = {"prompt_set_id": pset, "stages": ["train", "evaluate"], "train": train, "evaluate": evaluate}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("ev"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=900)
    assert run["status"] == "succeeded", [(s["kind"], s["error"]) for s in run["stages"]]

    final = Path(run["summary"]["train"]["path"])
    tok = AutoTokenizer.from_pretrained(final)
    assert tok.chat_template == original_template(fam.template)
    # What each backend served for the first prompt is the family's original render of it, Qwen's
    # default system turn included: vLLM (in its own environment, its own transformers) renders the
    # saved template exactly as the trainer's tokenizer does.
    first = [{"role": "user", "content": PROMPTS[0]["prompt"]}]
    expected = tok.apply_chat_template(first, add_generation_prompt=True, tokenize=False)
    assert expected.startswith("<|im_start|>system\nYou are Qwen") and expected.endswith(
        "<|im_start|>assistant\n"
    )

    report = run["summary"]["evaluate"]
    assert report["prompts"] == len(PROMPTS)
    by_label = {m["label"]: m for m in report["models"]}
    assert set(by_label) == {"vllm", "transformers"}
    for label, m in by_label.items():
        assert m["backend"] == ("transformers_local" if label == "transformers" else "vllm")
        assert m["model"] == str(final) and m["samples"] == 2 * len(PROMPTS) and m["params"] > 0
        assert m["served_prompt"] == expected, label
        assert 0 <= m["pass_at_1"] <= 1 and m["mean_output_tokens"] > 0  # scored, on generated tokens
        samples = client.get(f"/api/projects/{pid}/evaluations/{m['evaluation_id']}/samples", headers=h)
        items = samples.json()["items"]
        assert len(items) == 2 * len(PROMPTS)
        assert all(s["status"] and s["passed"] in (True, False, None) for s in items), items
        assert all(s["completion_tokens"] for s in items)
    # the engine is part of what makes a number reproducible; the default adds nothing to the hash
    assert by_label["vllm"]["config_hash"] != by_label["transformers"]["config_hash"]
    assert not vllm_processes(final)  # the evaluation gave the server (and its memory) back
