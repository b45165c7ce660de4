"""On a CUDA host: the train benchmark's two contestants run a few steps of the 0.5B shape in bf16
(skipped without CUDA; the figures are the benchmark's, not the test's)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.env import ROOT

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_gpu_train_bench_on_cuda(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "bench/gpu_train.py",
            "--steps",
            "3",
            "--batch",
            "2",
            "--json",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    plain, platform, _ = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert plain["device"] != "cpu" and plain["steps"] == platform["steps"] == 3
    assert plain["tokens_per_s"] > 0 and platform["tokens_per_s"] > 0
