"""Multi-GPU training: the accelerate config (DeepSpeed ZeRO or FSDP) and the `accelerate launch`
command that runs the train stage's body on every GPU of the host. One GPU or the CPU trains in the
worker's own process, so none of this is used there."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

BASE: dict[str, Any] = {
    "compute_environment": "LOCAL_MACHINE",
    "debug": False,
    "machine_rank": 0,
    "main_training_function": "main",
    "mixed_precision": "bf16",
    "num_machines": 1,
    "rdzv_backend": "static",
    "same_network": True,
    "use_cpu": False,
}


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def processes_for(requested: int | None, available: int) -> int:
    """How many training processes: the GPUs asked for (at most those there are), one on the CPU."""
    if available <= 1:
        return 1
    return min(requested or available, available)


def accelerate_config(num_processes: int, distributed: str) -> dict[str, Any]:
    cfg = {**BASE, "num_processes": num_processes}
    if distributed.startswith("deepspeed"):
        stage = 3 if distributed.endswith("3") else 2
        cfg["distributed_type"] = "DEEPSPEED"
        cfg["deepspeed_config"] = {
            "deepspeed_multinode_launcher": "standard",
            "offload_optimizer_device": "none",
            "offload_param_device": "none",
            "zero3_init_flag": stage == 3,
            "zero3_save_16bit_model": stage == 3,  # a ZeRO-3 save gathers whole weights, not shards
            "zero_stage": stage,
        }
    elif distributed == "fsdp":
        cfg["distributed_type"] = "FSDP"
        cfg["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_offload_params": False,
            "fsdp_reshard_after_forward": True,
            "fsdp_state_dict_type": "FULL_STATE_DICT",
            "fsdp_activation_checkpointing": False,
        }
    else:
        raise ValueError(f"unknown distributed mode {distributed!r}")
    return cfg


def write_config(folder: Path, num_processes: int, distributed: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "accelerate.yaml"
    path.write_text(yaml.safe_dump(accelerate_config(num_processes, distributed), sort_keys=False))
    return path


def launch_command(config: Path, num_processes: int, stage_id: int, result: Path) -> list[str]:
    """`accelerate launch` of workers.training.entry on num_processes GPUs; rank 0 writes result."""
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config),
        "--num_processes",
        str(num_processes),
        "-m",
        "workers.training.entry",
        str(stage_id),
        str(result),
    ]
