"""What an experiment compares, read from the runs' stored recipes (pure functions): the evaluation set
a run was scored on, and the factors, the recipe settings that differ between the grouped runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The factors people name; any other differing setting keeps its recipe path as its name.
NAMES = {
    "stages.filter": "filter",
    "stages.judge": "judge",
    "stages.review": "review",
    "teacher_id": "teacher",
    "rollout.n": "attempts per prompt",
    "rollout.stop_when_verified": "verified attempts kept",
    "rollout.reasoning_budget": "thinking budget",
    "rollout.temperature": "teacher temperature",
    "train.method": "train method",
    "train.student": "student",
}
# Not factors: the same in every run of an experiment by construction (the prompt set, the evaluation),
# or bookkeeping; settings that tune only speed say nothing about the result either.
IGNORED_PREFIXES = ("version", "prompt_set_id", "evaluate", "stages.evaluate", "stages.profile")
IGNORED_LEAVES = ("chunk_size", "concurrency", "max_retries", "timeout_s", "use_cache", "gpus")
MAX_FACTORS = 12


def eval_set(recipe: Mapping[str, Any]) -> dict[str, Any] | None:
    """The evaluation set a run's evaluate stage scored on (None without one): the same prompts make
    scores comparable, so an experiment's runs share it."""
    if "evaluate" not in (recipe.get("stages") or []):
        return None
    ev = recipe.get("evaluate") or {}
    own = ev.get("prompt_set_id")
    return {
        "prompt_set_id": own or recipe.get("prompt_set_id"),
        # evaluate.prompt_set_id is evaluated whole (workers/stages/evaluate.py)
        "split": "all" if own else ev.get("split", "eval"),
        "max_prompts": ev.get("max_prompts"),
    }


def describe_eval_set(es: Mapping[str, Any]) -> str:
    first = f", first {es['max_prompts']}" if es.get("max_prompts") else ""
    return f"prompt set {es.get('prompt_set_id')}, split {es.get('split')}{first}"


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
    else:
        out[path] = value


def _leaves(recipe: Mapping[str, Any], all_stages: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stages = set(recipe.get("stages") or [])
    body = {k: v for k, v in recipe.items() if k != "stages"}
    # a stage's settings mean nothing in a run without the stage: only its on/off is compared then
    body = {k: v for k, v in body.items() if k not in all_stages or k in stages}
    _flatten(body, "", out)
    for kind in all_stages:
        out[f"stages.{kind}"] = kind in stages
    return out


def _ignored(path: str) -> bool:
    return path.startswith(IGNORED_PREFIXES) or path.rsplit(".", 1)[-1] in IGNORED_LEAVES


def factors(recipes: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The settings that differ between the recipes: [{name, path, values: one per recipe}], named
    factors first. A setting missing from a recipe (its stage absent) reads None there."""
    all_stages = {k for r in recipes for k in (r.get("stages") or [])}
    leaves = [_leaves(r, all_stages) for r in recipes]
    paths = sorted({p for lv in leaves for p in lv if not _ignored(p)})
    out = []
    for path in paths:
        values = [lv.get(path) for lv in leaves]
        # a stage's setting differs only between runs that ran the stage (its on/off says the rest)
        head = path.split(".", 1)[0]
        ran = [
            v
            for r, v in zip(recipes, values, strict=True)
            if head not in all_stages or head in (r.get("stages") or [])
        ]
        if any(v != ran[0] for v in ran[1:]):
            out.append({"name": NAMES.get(path, path), "path": path, "values": values})
    out.sort(
        key=lambda f: (f["path"] not in NAMES, list(NAMES).index(f["path"]) if f["path"] in NAMES else 0)
    )
    return out[:MAX_FACTORS]
