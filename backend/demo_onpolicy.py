"""The demo's on-policy arm (backend/demo_flow.py's EXTRA_ARMS): the student, from its untrained base,
samples completions of the verified arm's prompts and the demo's teacher scores them, served by vLLM
(the worker starts it) where vLLM can run it on this host, else loaded by the worker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.demo_flow import Api, ExtraContext

# vLLM 0.32's CPU attention serves these head sizes only (the demo teacher's is 40): elsewhere the arm
# falls back to the teacher loaded by the worker, and says so
VLLM_CPU_HEADS = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def served_teacher(api: Api, pid: int) -> tuple[int, str]:
    """The demo's teacher as a `vllm` teacher (the worker serves it) where vLLM can run it here, else
    the transformers_local one; with the placement's name."""
    from backend.demo_flow import ROOT, TEACHER, teacher

    config = json.loads((TEACHER / "config.json").read_text())
    head = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    gpu = Path("/proc/driver/nvidia/gpus").is_dir()
    if not (ROOT / ".venv-vllm").exists() and not os.environ.get("DISTILLERY_VLLM_PYTHON"):
        return teacher(api, pid), "local (no vLLM here: make vllm)"
    if not gpu and head not in VLLM_CPU_HEADS:
        return teacher(api, pid), f"local (vLLM's CPU build refuses head size {head})"
    for t in api("GET", f"/api/projects/{pid}/teachers"):
        if t["name"] == "tiny-multiplier-vllm":
            return t["id"], "vllm"
    settings = {} if gpu else {"dtype": "float32", "enforce_eager": True, "gpu_memory_utilization": 0.05}
    body = {"name": "tiny-multiplier-vllm", "backend": "vllm", "model": str(TEACHER), "settings": settings}
    return api("POST", f"/api/projects/{pid}/teachers", json=body)["id"], "vllm"


def onpolicy(x: ExtraContext) -> dict:
    """The student samples, the teacher scores its tokens: forward KL on the teacher's top 20 of its 88
    characters (a student that starts from random weights learns little from the reverse KL's one
    sampled token), on the verified arm's prompts."""
    tid, placement = served_teacher(x.api, x.pid)
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
