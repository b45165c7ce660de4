"""The project's tiny chat model (examples/tiny_model.py), built once per session under DATA_DIR: the
student the train tests fine-tune and the teacher the backend tests serve."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.env import DATA_DIR, ROOT


def tiny_model() -> Path:
    """The folder of the tiny model (the build is idempotent: every caller shares one copy)."""
    if str(ROOT / "examples") not in sys.path:
        sys.path.insert(0, str(ROOT / "examples"))
    from tiny_model import build

    return build(DATA_DIR / "models" / "tiny-chat")


def tiny_student() -> str:
    return str(tiny_model())


def tiny_peer(seed: int = 1) -> str:
    """A student of the tiny model's vocabulary and shape with fresh random weights: it differs from the
    tiny model as a teacher, so distilling from it has something to learn (built once per seed)."""
    out = DATA_DIR / "models" / f"tiny-peer-{seed}"
    if not (out / "model.safetensors").is_file():
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        src = tiny_model()
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(src))
        model.generation_config = GenerationConfig.from_pretrained(src)
        model.save_pretrained(out)
        AutoTokenizer.from_pretrained(src).save_pretrained(out)
    return str(out)
