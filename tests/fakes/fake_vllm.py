"""A stand-in for `python -m vllm.entrypoints.openai.api_server`, so the worker's vLLM launcher can be
tested without vLLM: `write_python(folder)` writes an executable that takes vLLM's command line (the
`-m` module and the flags the launcher spells are read or ignored) and serves the project's fake
OpenAI-compatible server on --port under --served-model-name, listing --max-model-len in /v1/models.

Two flags of its own, passed through the teacher's `extra_args`:
  --crash-after-requests N  answer N chat requests, then on the next one print an engine crash to the
                            log (a traceback, a line that names a secret) and exit with --exit-code
  --startup-lines K         log K lines while "loading", as vLLM does, before /health answers
  --fail-at-start           log a start-up failure as vLLM 0.32's CPU build does (the engine's
                            ValueError, then the front end's "see root cause above" wrapper) and exit 1
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aiohttp import web

from tests.fakes.fake_openai_server import ROOT, FakeOpenAIServer, FakeServerConfig, _loop

SECRET = "hf_fakevllmsecret0123456789"  # in the crash's log: the error must never carry it
CRASH = [
    "ERROR 01-01 00:00:01 [core.py:700] EngineCore encountered a fatal error.",
    "Traceback (most recent call last):",
    '  File "/opt/vllm/vllm/v1/engine/core.py", line 691, in run_engine_core',
    "    engine_core.run_busy_loop()",
    '  File "/opt/vllm/vllm/v1/worker/gpu_model_runner.py", line 1402, in execute_model',
    "    hidden_states = self.model(input_ids)",
    "RuntimeError: CUDA error: an illegal memory access was encountered",
    f"ERROR 01-01 00:00:01 [core.py:702] engine args: pad_token: 1, HF_TOKEN={SECRET}",
    "ERROR 01-01 00:00:01 [async_llm.py:420] AsyncLLM output_handler failed.",
]


START_FAILURE = [
    "INFO 01-01 00:00:00 [api_server.py:1000] vLLM API server version 0.32.0",
    f"INFO 01-01 00:00:00 [utils.py:300] non-default args: {{'model': 'tiny', 'hf_token': '{SECRET}'}}",
    "(EngineCore_DP0 pid=4242) ERROR 01-01 00:00:02 [core.py:708] EngineCore failed to start.",
    "(EngineCore_DP0 pid=4242) ERROR 01-01 00:00:02 [core.py:708] Traceback (most recent call last):",
    '(EngineCore_DP0 pid=4242) ERROR 01-01 00:00:02 [core.py:708]   File "/opt/vllm/v1/worker/cpu.py", '
    "line 120, in determine_available_memory",
    "(EngineCore_DP0 pid=4242) ERROR 01-01 00:00:02 [core.py:708]     raise ValueError(msg)",
    "(EngineCore_DP0 pid=4242) ERROR 01-01 00:00:02 [core.py:708] ValueError: The model's KV cache needs "
    "9.0 GiB but only 2.5 GiB of memory is available; raise --gpu-memory-utilization",
    "Traceback (most recent call last):",
    '  File "<frozen runpy>", line 198, in _run_module_as_main',
    '  File "/opt/vllm/v1/engine/core_client.py", line 500, in __init__',
    "    raise RuntimeError(",
    "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
    "",
]


def write_python(folder: Path) -> Path:
    """An executable to use as vLLM's interpreter (DISTILLERY_VLLM_PYTHON): it runs this module."""
    path = folder / "fake-vllm-python"
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    path.write_text(
        f'#!/bin/sh\nPYTHONPATH="{pythonpath}" exec "{sys.executable}" -m tests.fakes.fake_vllm "$@"\n'
    )
    path.chmod(0o755)
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-m", dest="module")
    p.add_argument("--model", required=True)
    p.add_argument("--served-model-name")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-model-len", type=int, default=0)
    p.add_argument("--crash-after-requests", type=int, default=None)
    p.add_argument("--exit-code", type=int, default=1)
    p.add_argument("--startup-lines", type=int, default=0)
    p.add_argument("--fail-at-start", action="store_true")
    args, _vllm_flags = p.parse_known_args(argv)
    if args.fail_at_start:
        print("\n".join(START_FAILURE), file=sys.stderr, flush=True)
        sys.exit(1)
    for i in range(args.startup_lines):
        print(f"INFO 01-01 00:00:00 [loader.py:{i}] startup line {i}", flush=True)
    fake = FakeOpenAIServer(
        FakeServerConfig(
            host=args.host,
            port=args.port,
            model=args.served_model_name or args.model,
            max_model_len=args.max_model_len,
        )
    )
    app = fake.app()
    answered = 0

    @web.middleware
    async def crash(request: web.Request, handler):
        nonlocal answered
        if request.path == "/v1/chat/completions" and args.crash_after_requests is not None:
            if answered >= args.crash_after_requests:
                print("\n".join(CRASH), file=sys.stderr, flush=True)
                os._exit(args.exit_code)  # as a dead engine does: no shutdown, no answer
            answered += 1
        return await handler(request)

    app.middlewares.append(crash)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, loop=_loop())


if __name__ == "__main__":
    main()
