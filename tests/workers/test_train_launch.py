"""The multi-GPU launch: the accelerate config and command that would run on a host with N GPUs (no GPU
here, so the command is checked, not run); a CPU or a single GPU trains in the worker's process."""

from __future__ import annotations

import sys

import yaml

from workers.training import launch


def test_processes_one_on_cpu_or_one_gpu_else_the_gpus_asked_for():
    assert launch.processes_for(None, 0) == 1 and launch.processes_for(8, 1) == 1
    assert (
        launch.processes_for(None, 8) == 8
        and launch.processes_for(4, 8) == 4
        and launch.processes_for(16, 8) == 8
    )


def test_deepspeed_zero_config_and_launch_command(tmp_path):
    path = launch.write_config(tmp_path, 8, "deepspeed_zero3")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["distributed_type"] == "DEEPSPEED" and cfg["num_processes"] == 8
    assert cfg["deepspeed_config"]["zero_stage"] == 3 and cfg["deepspeed_config"]["zero3_save_16bit_model"]
    assert cfg["mixed_precision"] == "bf16" and cfg["num_machines"] == 1
    assert launch.accelerate_config(2, "deepspeed_zero2")["deepspeed_config"]["zero_stage"] == 2
    cmd = launch.launch_command(path, 8, 42, tmp_path / "result.json")
    assert cmd == [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(path),
        "--num_processes",
        "8",
        "-m",
        "workers.training.entry",
        "42",
        str(tmp_path / "result.json"),
    ]


def test_fsdp_config_is_one_accelerate_reads(tmp_path):
    from accelerate.commands.config.config_args import load_config_from_file

    path = launch.write_config(tmp_path, 4, "fsdp")
    cfg = load_config_from_file(str(path))
    assert cfg.distributed_type == "FSDP" and cfg.num_processes == 4
    assert (
        cfg.fsdp_config["fsdp_version"] == 2 and cfg.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    )
    ds = load_config_from_file(str(launch.write_config(tmp_path / "ds", 2, "deepspeed_zero2")))
    assert ds.distributed_type == "DEEPSPEED" and ds.deepspeed_config["zero_stage"] == 2
