"""The demo's student must be servable by vLLM's CPU build (docs/serving.md): its attention head size is
one that vLLM's CPU attention backend lists, asked of the installed vLLM itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.env import ROOT
from tests.support.vllm import VLLM_PYTHON

pytestmark = pytest.mark.pure
ASK = (
    "import json; from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend as B; "
    "print(json.dumps(B.get_supported_head_sizes()))"
)


@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason="vLLM's CPU build is missing: run scripts/setup-vllm.sh")
def test_the_demo_student_has_a_head_size_vllm_cpu_serves():
    sys.path.insert(0, str(ROOT / "examples" / "multiply"))
    try:
        from student import STUDENT
    finally:
        sys.path.remove(str(ROOT / "examples" / "multiply"))
    head = STUDENT.get("head_dim") or STUDENT["hidden_size"] // STUDENT["num_attention_heads"]
    argv = [str(VLLM_PYTHON), "-c", ASK]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
    supported = json.loads(out.stdout.strip().splitlines()[-1])
    assert head in supported, (head, supported)
