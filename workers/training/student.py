"""Loading the student (and a local teacher) with clear errors before any training, and its LoRA."""

from __future__ import annotations

import logging
from typing import Any

from backend.core.errors import Invalid
from backend.training.schemas import LoraSettings

log = logging.getLogger(__name__)


def device_kind() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_tokenizer(name: str):
    """The student's tokenizer, or a user error saying why it cannot load."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name)
    except Exception as exc:  # OSError, ValueError, HF hub errors: all mean "cannot load this name"
        raise Invalid(
            f"the student {name!r} cannot be loaded: {type(exc).__name__}: {str(exc)[:400]} "
            "(give a hub id the worker can download, or a local folder with config.json and a tokenizer)",
            code="student_unloadable",
            fields=[{"path": "recipe.train.student", "message": "cannot be loaded"}],
        ) from None


def load_model(name: str, *, quantize_4bit: bool = False):
    """The causal LM: bf16 on a GPU, fp32 on the CPU; sdpa attention (what packing needs)."""
    import torch
    from transformers import AutoModelForCausalLM

    gpu = device_kind() == "cuda"
    kwargs: dict[str, Any] = {
        "dtype": torch.bfloat16 if gpu else torch.float32,
        "attn_implementation": "sdpa",
    }
    if quantize_4bit:
        if not gpu:
            raise Invalid("train.lora.quantize_4bit needs a GPU (bitsandbytes)", code="needs_gpu")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16
        )
    try:
        return AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except Exception as exc:
        raise Invalid(
            f"the model {name!r} cannot be loaded as a causal LM: {type(exc).__name__}: {str(exc)[:400]}",
            code="student_unloadable",
        ) from None


def lora_config(model, lora: LoraSettings):
    """peft's LoraConfig, after checking the student has every module the recipe names."""
    from peft import LoraConfig

    if lora.target_modules != "all-linear":
        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        missing = sorted(set(lora.target_modules) - names)
        if missing:
            linear = sorted(
                {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"}
            )
            raise Invalid(
                f"train.lora.target_modules: the student has no module(s) {missing}; its linear layers are "
                f"{linear}",
                code="lora_targets",
                fields=[{"path": "recipe.train.lora.target_modules", "message": f"unknown: {missing}"}],
            )
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def liger_available() -> bool:
    """Liger kernels help only on a GPU, and only when installed; nothing is installed at run time."""
    import importlib.util

    return device_kind() == "cuda" and importlib.util.find_spec("liger_kernel") is not None
