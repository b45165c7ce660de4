"""A worker-started vLLM on a host without a GPU takes a sane share of the host's RAM (the CPU build
reads --gpu-memory-utilization as one), and a server that cannot start says vLLM's own reason: its
error line, not a traceback's tail. Against the fake vLLM (tests/fakes/fake_vllm.py): no vLLM needed."""

from __future__ import annotations

import pytest

from tests.fakes.fake_vllm import CRASH, SECRET, START_FAILURE, write_python
from workers.teachers import vllm_server
from workers.teachers.vllm_server import VLLMServer, VLLMServerSpec, VLLMStartError, error_line

pytestmark = pytest.mark.pure


def _share(spec: VLLMServerSpec) -> str:
    argv = spec.argv("/py", "127.0.0.1", 1)
    return argv[argv.index("--gpu-memory-utilization") + 1]


def test_without_a_gpu_the_default_share_is_the_configured_one_not_vllms_nine_tenths(monkeypatch):
    from backend.core.config import get_settings

    monkeypatch.setattr(vllm_server, "_has_gpu", lambda: False)
    assert _share(VLLMServerSpec("m")) == str(get_settings().vllm_cpu_memory_share) == "0.3"
    monkeypatch.setattr(get_settings(), "vllm_cpu_memory_share", 0.5)
    assert _share(VLLMServerSpec("m")) == "0.5"
    assert _share(VLLMServerSpec("m", gpu_memory_utilization=0.1)) == "0.1"  # the teacher's own wins
    monkeypatch.setattr(vllm_server, "_has_gpu", lambda: True)
    assert _share(VLLMServerSpec("m")) == "0.9"
    assert _share(VLLMServerSpec.from_settings("m", {"gpu_memory_utilization": 0.7})) == "0.7"


def test_the_error_line_is_vllms_own_reason():
    text = "\n".join(START_FAILURE)
    assert error_line(text) == (
        "ValueError: The model's KV cache needs 9.0 GiB but only 2.5 GiB of memory is available; "
        "raise --gpu-memory-utilization"
    )  # the engine's cause, not the front end's "see root cause above" after it, nor its prefixes
    assert (
        error_line("\n".join(CRASH)) == "RuntimeError: CUDA error: an illegal memory access was encountered"
    )
    assert error_line("loading\nKilled\n\n") == "Killed"  # no exception: the last line said
    assert error_line("only: RuntimeError: Engine core initialization failed. See root cause above.") == (
        "RuntimeError: Engine core initialization failed. See root cause above."
    )
    assert error_line("\n \n") is None


def test_a_server_that_cannot_start_says_vllms_error_line(tmp_path):
    spec = VLLMServerSpec("tiny", extra_args=("--fail-at-start",))
    with pytest.raises(VLLMStartError) as err:
        VLLMServer(spec, python=str(write_python(tmp_path))).start(timeout_s=60)
    message = str(err.value)
    assert err.value.returncode == 1
    assert message.startswith("vLLM (pid ") and "exited with code 1" in message, message
    assert "ValueError: The model's KV cache needs 9.0 GiB but only 2.5 GiB" in message
    assert "Traceback" not in message and "core.py" not in message and len(message.splitlines()) == 1
    assert SECRET not in message and "(its log: " in message
