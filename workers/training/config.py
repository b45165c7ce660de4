"""The TrainingArguments every method shares, from the recipe's train settings."""

from __future__ import annotations

from typing import Any

from backend.training.schemas import TrainBase
from workers.training.student import device_kind, liger_available


def common_args(settings: TrainBase, output_dir: str) -> dict[str, Any]:
    gpu = device_kind() == "cuda"
    return {
        "output_dir": output_dir,
        "learning_rate": settings.learning_rate,
        "lr_scheduler_type": settings.lr_scheduler_type,
        "warmup_steps": settings.warmup_ratio,  # a float below 1 is a share of the steps
        "weight_decay": settings.weight_decay,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps or -1,
        "per_device_train_batch_size": settings.per_device_batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation,
        "gradient_checkpointing": settings.gradient_checkpointing,
        "seed": settings.seed,
        "save_strategy": "steps",
        "save_steps": settings.save_steps,
        "save_total_limit": settings.save_total_limit,
        "logging_steps": settings.logging_steps,
        "bf16": gpu,
        "use_cpu": not gpu,
        "use_liger_kernel": settings.use_kernels and liger_available(),
        "include_num_input_tokens_seen": "non_padding",
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }
