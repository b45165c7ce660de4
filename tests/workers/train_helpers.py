"""Helpers of the train tests: the tiny student, snapshots written in-process in the snapshot stage's
own file formats (so a test can plant a defect), and train runs through the API."""

from __future__ import annotations

import hashlib
import random

from tests.support.env import DATA_DIR, unique
from tests.support.models import tiny_student  # noqa: F401 - its home is tests/support; imported here too
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run

WORDS = "the sum of apples and marbles is so we get the number first then twice half".split()


def trace(i: int, rng: random.Random, words: int = 12) -> str:
    thought = " ".join(rng.choices(WORDS, k=words))
    return f"<think>\n{thought} {i}\n</think>\n\nAnswer: {i}"


def conversations(n: int, seed: int = 0, words: int = 12) -> list[list[dict]]:
    rng = random.Random(seed)
    return [
        [
            {"role": "user", "content": f"What is {i} plus nothing?"},
            {"role": "assistant", "content": trace(i, rng, words)},
        ]
        for i in range(n)
    ]


def make_snapshot(
    project_id: int,
    convos: list[list[dict]],
    *,
    pairs: bool = True,
    generation_ids: list[int] | None = None,
    prompt_ids: list[int] | None = None,
) -> int:
    """A snapshot row and its Parquet files under DATA_DIR, as the snapshot stage writes them; each row
    names generation_ids[i] as its teacher attempt where given (the truncated-trace check reads them)."""
    import uuid

    from backend.core.db import session_scope
    from backend.datasets.models import DatasetSnapshot
    from workers.stages.snapshot import _Sink

    folder = DATA_DIR / "snapshots" / str(project_id) / f".tmp-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    sinks = {"messages": _Sink(folder, "messages")}
    if pairs:
        sinks["preference"] = _Sink(folder, "preference")
    for i, c in enumerate(convos):
        sinks["messages"].add(
            {
                "messages": c,
                "prompt_id": prompt_ids[i] if prompt_ids else i,
                "reference": str(i),
                "teacher_id": None,
                "generation_id": generation_ids[i] if generation_ids else 10_000 + i,
            }
        )
        if pairs:
            wrong = [
                {"role": "assistant", "content": c[-1]["content"].replace(f"Answer: {i}", "Answer: none")}
            ]
            sinks["preference"].add(
                {
                    "prompt": c[:-1],
                    "chosen": c[-1:],
                    "rejected": wrong,
                    "prompt_id": i,
                    "reference": str(i),
                    "teacher_id": None,
                    "chosen_id": 10_000 + i,
                    "rejected_id": 20_000 + i,
                }
            )
    for s in sinks.values():
        s.close()
    digest = hashlib.sha256((folder / "messages.jsonl").read_bytes()).hexdigest()
    final = folder.parent / digest
    if not final.exists():
        folder.rename(final)
    with session_scope() as s:
        snap = DatasetSnapshot(
            project_id=project_id,
            run_id=None,
            name=unique("snap"),
            content_hash=digest,
            row_counts={"messages": len(convos)},
            files={p.name: p.stat().st_size for p in final.iterdir()},
        )
        s.add(snap)
        s.flush()
        return snap.id


def project_with_prompts(client, accounts, tmp_path) -> tuple[int, dict, int]:
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(
        pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", [{"prompt": "p", "reference": "1"}])
    )
    return pid, owner["headers"], pset


def post_train(client, h, pid, pset, train: dict, **recipe):
    body = {"prompt_set_id": pset, "stages": ["train"], "train": train, **recipe}
    return client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("train"), "recipe": body})


def train_run(client, h, pid, pset, train: dict, timeout: float = 300, **recipe) -> dict:
    r = post_train(client, h, pid, pset, train, **recipe)
    assert r.status_code == 202, r.text
    return wait_run(client, h, pid, r.json()["id"], timeout=timeout) if timeout else r.json()


def generated_tokens(final, tokenizer, *, adapter: bool) -> int:
    """Reload a saved student (a LoRA adapter on its base where `adapter`, else a plain checkpoint)
    and greedily generate from a question its own chat template renders: the new tokens' count."""
    if adapter:
        from peft import AutoPeftModelForCausalLM as Auto
    else:
        from transformers import AutoModelForCausalLM as Auto
    model = Auto.from_pretrained(final)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 2?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**prompt, max_new_tokens=4, do_sample=False)
    return out.shape[1] - prompt["input_ids"].shape[1]
