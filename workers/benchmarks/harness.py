"""lm-evaluation-harness over local task suites: read a folder's task YAMLs (their relative data files
made absolute, since the worker's working directory is not the folder), put the think-stripping filter
first in every generation task's filter pipelines, run one model through `simple_evaluate` with the hub
off, and read back each task's metrics as lm-eval computed them.

lm_eval is imported inside the functions: the worker imports every stage module at start, and the
harness (with its metric libraries) is only needed when a benchmark runs.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

THINK_CLOSE = "</think>"
THINK_OPEN = "<think>"
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


def version() -> str:
    return importlib.metadata.version("lm_eval")


def strip_think(text: str) -> str:
    """The answer part of a reasoning model's output: closed <think> blocks removed, everything before a
    lone </think> removed (templates that open the block in the prompt: Qwen3, DeepSeek-R1), and a
    reasoning cut off before its </think> is no answer at all (it must not score on a number it
    happened to be thinking about)."""
    text = _THINK_BLOCK.sub("", text)
    if THINK_CLOSE in text:
        text = text.rsplit(THINK_CLOSE, 1)[1]
    if THINK_OPEN in text:
        text = text.split(THINK_OPEN, 1)[0]
    return text.strip()


class StripThink:
    """An lm-eval filter (the harness takes any class with apply(resps, docs) by reference)."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def apply(self, resps, docs):
        return [[strip_think(r) if isinstance(r, str) else r for r in rs] for rs in resps]


def _absolute(files: Any, folder: Path) -> Any:
    """data_files as datasets takes them (a path, a list, or a split -> path(s) map), made absolute."""
    if isinstance(files, str):
        return files if Path(files).is_absolute() or "://" in files else str(folder / files)
    if isinstance(files, list):
        return [_absolute(f, folder) for f in files]
    if isinstance(files, dict):
        return {k: _absolute(v, folder) for k, v in files.items()}
    return files


def _with_strip_think(cfg: dict[str, Any]) -> dict[str, Any]:
    if cfg.get("output_type", "generate_until") != "generate_until":
        return cfg  # log-likelihood tasks score the choices, not a generation
    pipelines = cfg.get("filter_list") or [{"name": "none", "filter": [{"function": "take_first"}]}]
    cfg["filter_list"] = [
        {**p, "filter": [{"function": StripThink}, *p.get("filter", [])]} for p in pipelines
    ]
    return cfg


def load_suite(folder: Path, names: list[str] | None, *, strip: bool) -> list[dict[str, Any]]:
    """The task configs a suite folder defines (every YAML with a `task` name; YAMLs without one are
    includes or groups), in name order; `names` picks some and must all exist."""
    from lm_eval.tasks._yaml_loader import load_yaml

    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.yaml")):
        try:
            cfg = load_yaml(path, resolve_func=True)
        except Exception as exc:  # noqa: BLE001 - a bad file is the user's to fix, said with its name
            raise ValueError(f"{path.relative_to(folder)}: not a task file lm-eval reads: {exc}") from None
        if not isinstance(cfg.get("task"), str):
            continue
        if isinstance(kw := cfg.get("dataset_kwargs"), dict) and "data_files" in kw:
            kw["data_files"] = _absolute(kw["data_files"], path.parent)
        found[cfg["task"]] = _with_strip_think(cfg) if strip else cfg
    if not found:
        raise ValueError("no task YAML (a file with a `task:` name) in the folder")
    missing = sorted(set(names or []) - set(found))
    if missing:
        raise ValueError(f"no task named {', '.join(missing)}; the folder has {', '.join(sorted(found))}")
    return [found[n] for n in sorted(names or found)]


@contextlib.contextmanager
def hub_off() -> Iterator[None]:
    """No hub at run time: datasets and huggingface_hub read only local files while the harness runs
    (their flags are read at import, so they are set on the loaded modules too, then put back)."""
    import datasets.config
    import huggingface_hub.constants

    saved_env = {k: os.environ.get(k) for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")}
    saved = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)
    os.environ.update({"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True
    huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = saved[0]
        huggingface_hub.constants.HF_HUB_OFFLINE = saved[1]


def evaluate(model: str, model_args: dict[str, Any], configs: list[dict[str, Any]], *, settings) -> dict:
    """lm-eval's results for one model over task configs (settings: BenchmarkSettings)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    gen_kwargs = {"max_gen_toks": settings.max_gen_toks} if settings.max_gen_toks else None
    with hub_off():
        results = simple_evaluate(
            model=model,
            model_args=model_args,
            tasks=configs,
            task_manager=TaskManager(include_defaults=False),  # no index of lm-eval's own thousands
            num_fewshot=settings.num_fewshot,
            limit=settings.limit,
            gen_kwargs=gen_kwargs,
            apply_chat_template=settings.apply_chat_template or model == "local-chat-completions",
            bootstrap_iters=settings.bootstrap_iters,
            log_samples=False,
            random_seed=settings.seed,
            numpy_random_seed=settings.seed,
            torch_random_seed=settings.seed,
            fewshot_random_seed=settings.seed,
        )
    if results is None:  # only non-zero ranks of a distributed run get None; one process here
        raise RuntimeError("lm-eval returned no results")
    return results


def _number(v: Any) -> float | None:
    """A metric as stored: lm-eval writes "N/A" for a standard error it could not compute."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def task_scores(results: dict) -> dict[str, tuple[dict[str, float | None], int]]:
    """{task: ({"metric,filter": value, "metric_stderr,filter": value}, documents scored)}."""
    out = {}
    for task, row in results["results"].items():
        metrics = {k: _number(v) for k, v in row.items() if k != "alias" and "," in k}
        n = results.get("n-samples", {}).get(task, {})
        out[task] = (metrics, int(n.get("effective", n.get("original", 0))))
    return out
