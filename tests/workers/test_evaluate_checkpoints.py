"""Every checkpoint evaluated (evaluate.checkpoints) through the API and a real worker on CPU: a tiny
student trained for 6 steps with a checkpoint every 2 and only one kept for resuming; the evaluate
stage scores the checkpoints at steps 2, 4 and 6 like the final model, and the API's accuracy per step
equals a re-scoring of the answers it stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.env import run_cli, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run
from tests.workers.train_helpers import conversations, make_snapshot, tiny_student

# an answer of an even number of characters passes: a tiny student's sampled answers differ in length,
# so the verdicts are mixed and the accuracies in between
EVEN = r"^([\s\S]{2})*$"
VERIFIERS = {"verifiers": [{"name": "regex", "settings": {"pattern": EVEN, "target": "completion"}}]}
PROMPTS = [{"prompt": f"What is {i} plus nothing?", "reference": str(i)} for i in range(4)]


def _samples(client, h, pid, evaluation_id: int) -> list[dict]:
    url = f"/api/projects/{pid}/evaluations/{evaluation_id}/samples"
    r = client.get(url, headers=h, params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _rescored_pass_at_1(samples: list[dict]) -> float:
    """pass@1 of stored answers, scored again by the same verifier in this process."""
    from workers.verifiers.verdict import Item
    from workers.verifiers.verify import verify_many

    items = [Item(completion=s["content"] or "", reasoning=s["reasoning"], finish_reason=s["finish_reason"])
             for s in samples]  # fmt: skip
    verdicts = verify_many(VERIFIERS, items)
    per_prompt: dict[int, list[bool]] = {}
    for s, v in zip(samples, verdicts, strict=True):
        assert (v.passed is True) == bool(s["passed"]), (s, v)  # the stored verdict is the verifier's
        per_prompt.setdefault(s["prompt_id"], []).append(v.passed is True)
    return round(float(np.mean([np.mean(p) for p in per_prompt.values()])), 4)


def test_each_checkpoint_is_scored_like_the_final_model(client, accounts, tmp_path, celery_worker):
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS))
    snap = make_snapshot(pid, conversations(8), pairs=False)
    train = {"student": tiny_student(), "snapshot_id": snap, "max_steps": 6, "save_steps": 2,
             "save_total_limit": 1, "per_device_batch_size": 4, "learning_rate": 1e-3}  # fmt: skip
    evaluate = {"split": "all", "models": [{"role": "student"}], "max_tokens": 6, "k": 2, "temperature": 1.0,
                "seed": 1, "bootstrap": 100, "checkpoints": {"every": 2}, "verifiers": VERIFIERS}  # fmt: skip
    recipe = {"prompt_set_id": pset, "stages": ["train", "evaluate"], "train": train, "evaluate": evaluate}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("ckpt"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=900)
    assert run["status"] == "succeeded", [(s["kind"], s["error"]) for s in run["stages"]]

    # The Trainer kept one checkpoint for resuming (save_total_limit 1); the three evaluated were kept
    # apart, weights without the optimizer state.
    trained = run["summary"]["train"]
    kept = trained["eval_checkpoints"]
    assert [c["step"] for c in kept] == [2, 4, 6]
    folder = Path(trained["path"]).parent
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == ["checkpoint-6"]
    for c in kept:
        files = {p.name for p in Path(c["path"]).iterdir()}
        assert "model.safetensors" in files and "tokenizer.json" in files and "optimizer.pt" not in files

    # One point per checkpoint, by step, each with the loss logged at its step.
    curve = client.get(f"/api/projects/{pid}/runs/{run['id']}/evaluations/checkpoints", headers=h)
    assert curve.status_code == 200, curve.text
    points = curve.json()
    assert [p["step"] for p in points] == [2, 4, 6]
    losses = {p["step"]: p["loss"] for p in trained["series"]}
    assert all(p["loss"] == losses[p["step"]] and p["loss"] is not None for p in points)
    assert run["summary"]["evaluate"]["checkpoints"] == points  # the stage's summary says the same

    # Each accuracy is the stored answers re-scored: every prompt, k samples, the same verifier.
    verdicts = []
    for p in points:
        samples = _samples(client, h, pid, p["evaluation_id"])
        assert len(samples) == len(PROMPTS) * 2 == p["samples"]
        assert p["pass_at_1"] == _rescored_pass_at_1(samples)
        lo, hi = p["pass_at_1_ci"]
        assert lo <= p["pass_at_1"] <= hi
        verdicts += [s["passed"] for s in samples]
    assert True in verdicts and False in verdicts  # the re-scoring above had both outcomes to tell apart

    # The models' list and comparison stay the models': the checkpoints are the curve.
    evals = client.get(f"/api/projects/{pid}/runs/{run['id']}/evaluations", headers=h).json()
    assert [e["label"] for e in evals] == ["student"]
    assert [m["label"] for m in run["summary"]["evaluate"]["models"]] == ["student"]
    by_prompt = client.get(f"/api/projects/{pid}/runs/{run['id']}/evaluations/by-prompt", headers=h).json()
    assert {m["label"] for row in by_prompt["items"] for m in row["models"]} == {"student"}

    # The CLI prints the same table, a row per step (on stderr, as every `distillery` message).
    out = run_cli("runs", "checkpoints", str(run["id"]))
    assert out.returncode == 0, out.stderr
    rows = [line.split("│") for line in out.stderr.splitlines() if line.count("│") > 4]
    table = {int(r[1]): r[2].strip() for r in rows if r[1].strip().isdigit()}
    assert table == {p["step"]: f"{p['pass_at_1']:.1%}" for p in points}, out.stderr

    # Another project's member sees none of it.
    stranger = accounts.user()
    accounts.project(stranger)
    url = f"/api/projects/{pid}/runs/{run['id']}/evaluations/checkpoints"
    r = client.get(url, headers=stranger["headers"])
    assert r.status_code == 404
