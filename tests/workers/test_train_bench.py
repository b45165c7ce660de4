"""bench/gpu_train.py runs a few steps on the CPU (there is no GPU here) and reports both contestants;
the numbers themselves are the benchmark's business, not the test's."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.env import ROOT


def test_gpu_train_bench_runs_on_cpu_for_a_few_steps(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "bench/gpu_train.py",
            "--device",
            "cpu",
            "--steps",
            "3",
            "--batch",
            "2",
            "--mean",
            "60",
            "--max-len",
            "128",
            "--json",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    plain, platform, ratio = rows
    assert (plain["contestant"], platform["contestant"]) == ("plain", "platform")
    assert plain["steps"] == platform["steps"] == 3 and plain["device"] == "cpu"
    assert plain["tokens_per_s"] > 0 and platform["tokens_per_s"] > 0 and ratio["ratio"] > 0
    assert plain["mfu"] is None and plain["liger"] is False  # no GPU peak to compare with, no kernels on CPU
