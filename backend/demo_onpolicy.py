"""The demo's on-policy arm (backend/demo_flow.py's EXTRA_ARMS): the student, from its untrained base,
samples completions of the verified arm's prompts and the demo's teacher scores them, served by vLLM
(the worker starts it; its prompt logprobs over HTTP). vLLM's CPU build serves only some head sizes and
the demo teacher's heads are of 40, so on a CPU host the served model is a copy with heads zero-padded
to 64 (examples/multiply/widen_heads.py: the same function, checked logit for logit when written)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.demo_flow import Api, ExtraContext

# vLLM 0.32's CPU attention serves these head sizes only; a teacher with another is served widened
VLLM_CPU_HEADS = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
SERVED_NAME = "tiny-multiplier-vllm"


def head_size(model: Path) -> int:
    config = json.loads((model / "config.json").read_text())
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def servable(teacher: Path, data_dir: Path, gpu: bool) -> tuple[Path, str]:
    """The folder vLLM serves for `teacher` on this host, with the placement's words: the teacher itself
    where vLLM can run its heads, else its copy with heads widened to the next size vLLM's CPU build
    serves (written once under data_dir/demo)."""
    head = head_size(teacher)
    if gpu or head in VLLM_CPU_HEADS:
        return teacher, "vllm"
    import sys

    from backend.demo_flow import TASK

    sys.path.insert(0, str(TASK))
    import widen_heads

    wide = min(h for h in VLLM_CPU_HEADS if h > head)
    folder = widen_heads.widen(teacher, data_dir / "demo" / f"teacher-heads{wide}", wide)
    return folder, f"vllm (heads of {head} zero-padded to {wide}: the same function, widen_heads.py)"


def served_teacher(api: Api, pid: int, data_dir: Path) -> tuple[int, str]:
    """The demo's teacher as a `vllm` teacher (the worker serves it), with the placement's words; the
    transformers_local one where this host has no vLLM."""
    from backend.demo_flow import ROOT, TEACHER, teacher

    if not (ROOT / ".venv-vllm").exists() and not os.environ.get("DISTILLERY_VLLM_PYTHON"):
        return teacher(api, pid), "local (no vLLM here: make vllm)"
    gpu = Path("/proc/driver/nvidia/gpus").is_dir()
    model, placement = servable(TEACHER, data_dir, gpu)
    for t in api("GET", f"/api/projects/{pid}/teachers"):
        if t["name"] == SERVED_NAME and t["model"] == str(model):
            return t["id"], placement
        if t["name"] == SERVED_NAME:  # another folder (a new teacher): point the row at this one
            api("PATCH", f"/api/projects/{pid}/teachers/{t['id']}", json={"model": str(model)})
            return t["id"], placement
    settings = {} if gpu else {"dtype": "float32", "enforce_eager": True, "gpu_memory_utilization": 0.05}
    body = {"name": SERVED_NAME, "backend": "vllm", "model": str(model), "settings": settings}
    return api("POST", f"/api/projects/{pid}/teachers", json=body)["id"], placement


def onpolicy(x: ExtraContext) -> dict:
    """The student samples, the teacher scores its tokens: forward KL on the teacher's top 20 of its 88
    characters (a student that starts from random weights learns little from the reverse KL's one
    sampled token), on the verified arm's prompts."""
    tid, placement = served_teacher(x.api, x.pid, x.data_dir)
    x.console.print(f"  onpolicy: the teacher is {placement}")
    return {
        "prompt_set_id": x.pset,
        "teacher_id": tid,
        "stages": ["train", "evaluate"],
        "train": {
            "student": str(x.base),
            "snapshot_id": x.snapshot_id,
            "method": "distill",
            "beta": 0.0,
            "teacher_top_k": 20,
            "max_completion_length": 160,
            "learning_rate": 3e-3,
            "warmup_ratio": 0.05,
            "max_steps": x.size.onpolicy_steps,
            "per_device_batch_size": 32,
            "seed": x.seed,
            "save_steps": max(x.size.onpolicy_steps // 2, 10),
        },
        "evaluate": {"models": [{"role": "student"}], "max_tokens": 160, "max_prompts": x.size.eval_prompts},
    }
