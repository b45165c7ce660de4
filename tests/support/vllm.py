"""vLLM's CPU build (make vllm) and the vLLM server processes alive on this host."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.env import ROOT

VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


def vllm_processes(model: str | Path) -> list[int]:
    """Pids of vLLM OpenAI servers whose command line names `model`."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "vllm.entrypoints" in cmdline and str(model) in cmdline:
            found.append(int(entry))
    return found
