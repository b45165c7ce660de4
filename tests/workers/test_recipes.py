"""Every recipe under examples/recipes/ runs as a user would run it, on the stand-in of the student it
names (tests/standins.py), through the API and a real worker: a rollout against a teacher that answers
in vLLM's reasoning-parser shapes, the math verifier, the snapshot, then training; the saved student
reloads with its family's template and eos list, and generates.

The recipes are read from disk (a new file there is picked up here) and keep their real hub ids: the
worker finds the stand-in under that id in a hub cache (tests/standin_hub.py), offline. Only what a
tiny CPU run must change is overridden, each with its reason next to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from backend.core.net import free_port
from backend.training.cli import recipe_for
from backend.training.schemas import TrainBase
from tests.fakes.fake_openai_server import (
    FakeOpenAIServer,
    FakeServerConfig,
    start_fake_server,
    stop_fake_server,
)
from tests.standin_hub import family_of, hub_cache, hub_env
from tests.standins import FAMILIES, original_template
from tests.support.env import DATA_DIR, ROOT, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run
from tests.workers.train_helpers import generated_tokens

RECIPES = sorted((ROOT / "examples" / "recipes").glob("*.yaml"))
# Where the teacher's reasoning arrives: `reasoning` (vLLM's reasoning parsers, qwen3 / deepseek_r1) or
# `reasoning_content` (their older name, and DeepSeek's API). Recipes take them in turn, so both shapes
# go through the rollout and into a snapshot without doubling the runs.
STYLES = ("reasoning", "reasoning_content")
# Choice i of every request ends "Answer: ANSWERS[i % 2]": half of each prompt's attempts are right, so
# a pass-rate band like (0.1, 0.9) keeps every prompt, and each prompt has a rejected attempt to pair.
ANSWERS = "4,5"
PROMPTS = [{"prompt": f"What is two plus two? ({i})", "reference": "4"} for i in range(4)]
FAKE = ("--answers", ANSWERS, "--answer-bytes", "300")
# The only changes a tiny CPU run needs: a few optimizer steps instead of the recipe's epochs, and
# micro-batches of 2 without accumulation (a 151k-word vocabulary makes each sequence's logits large for
# a small CPU box); everything else (method, LoRA, learning rate, packing, ...) is the recipe's.
TINY = {"max_steps": 2, "per_device_batch_size": 2, "gradient_accumulation": 1}


def _read(path: Path) -> dict:
    """The file as `distillery train FILE` reads it: a whole recipe, or train settings alone."""
    return recipe_for(yaml.safe_load(path.read_text()), snapshot=None)


def _student(recipe: dict) -> str:
    return recipe["train"].get("student") or TrainBase.model_fields["student"].default


@pytest.fixture(scope="module")
def hub_worker(celery_worker):
    """The session's worker, restarted to find every recipe's hub id in a hub cache of stand-ins (and
    never reach the network); restarted plain afterwards for the tests that follow."""
    cache = hub_cache(*sorted({family_of(_student(_read(p))) for p in RECIPES}))
    celery_worker.stop()
    celery_worker.start(**hub_env(cache))
    yield celery_worker
    celery_worker.stop()
    celery_worker.start()


@pytest.fixture(params=RECIPES, ids=lambda p: p.stem)
def recipe_file(request) -> Path:
    return request.param


def _pipeline(client, h, pid, recipe: dict) -> dict:
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("recipe"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=600)
    assert run["status"] == "succeeded", (run["status"], [(s["kind"], s["error"]) for s in run["stages"]])
    return run


def test_each_example_recipe_trains_its_students_standin(recipe_file, client, accounts, tmp_path, hub_worker):
    from transformers import AutoTokenizer

    recipe = _read(recipe_file)
    student = _student(recipe)
    fam = FAMILIES[family_of(student)]
    style = STYLES[RECIPES.index(recipe_file) % len(STYLES)]
    port = free_port()
    fake = start_fake_server(port, *FAKE, "--reasoning-style", style, log_path=DATA_DIR / f"fake-{style}.log")
    reasoning = FakeOpenAIServer(FakeServerConfig(answer_bytes=300, answers=ANSWERS)).reasoning
    try:
        owner = accounts.user()
        pid, h = accounts.project(owner), owner["headers"]
        pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS))
        teacher = {
            "name": "t",
            "backend": "openai_compat",
            "model": "fake",
            "base_url": f"http://127.0.0.1:{port}/v1",
        }
        r = client.post(f"/api/projects/{pid}/teachers", headers=h, json=teacher)
        assert r.status_code == 201, r.text
        tid = r.json()["id"]

        cut = None
        if recipe["stages"] == ["train"]:
            # Train settings alone train an existing snapshot (`--snapshot ID`): cut one here the way a
            # user's would be, from a rollout of this teacher, verified, with its preference pairs.
            cut = _pipeline(
                client,
                h,
                pid,
                {
                    "prompt_set_id": pset,
                    "teacher_id": tid,
                    "stages": ["rollout", "filter", "snapshot"],
                    "rollout": {"n": 4, "max_tokens": 256},
                    "filter": {"verifiers": {"verifiers": [{"name": "math"}]}},
                },
            )["summary"]["snapshot"]
            recipe = recipe_for(yaml.safe_load(recipe_file.read_text()), snapshot=cut["snapshot_id"])
        else:
            # A whole recipe names the ids of its author's prompt set and teacher: these are the test's.
            recipe["teacher_id"] = tid
        recipe["prompt_set_id"] = pset
        recipe["train"].update(TINY)
        run = _pipeline(client, h, pid, recipe)
    finally:
        stop_fake_server(fake)

    s = run["summary"]
    if s.get("rollout"):
        assert s["rollout"]["generations"] == len(PROMPTS) * recipe["rollout"]["n"], s["rollout"]
    snap = s.get("snapshot") or cut
    assert snap["counts"]["prompts"] == len(PROMPTS), snap
    t = s["train"]
    assert t["method"] == recipe["train"]["method"] and t["step"] == 2 and t["loss"] is not None
    assert t["overrides"] == [] and all(c["passed"] for c in t["checks"]), t["checks"]
    assert t["template"]["family"] == fam.template and t["template"]["source"] == "student"
    if t["method"] == "dpo":  # the pairs were built from the rollout and are what DPO trained on
        assert snap["counts"]["preference_pairs"] == len(PROMPTS) == t["examples"]
    else:  # the teacher's reasoning, wherever the parser put it, is trained on inside <think>
        trained = t["sample"].split("⟦", 1)[1]
        assert f"<think>\n{reasoning.strip()}\n</think>" in trained and "Answer: 4" in trained

    final = Path(t["path"])
    tok = AutoTokenizer.from_pretrained(final)
    assert tok.chat_template == original_template(fam.template)
    gen = json.loads((final / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [tok.convert_tokens_to_ids(e) for e in fam.generation_eos]
    lora = recipe["train"].get("lora")
    adapter = bool(lora and not lora.get("merge"))
    if not adapter:
        assert not (final / "adapter_config.json").exists()  # merged: a plain checkpoint vLLM can serve
    assert generated_tokens(final, tok, adapter=adapter) > 0
