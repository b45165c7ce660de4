"""A stand-in for `python -m vllm.entrypoints.openai.api_server`, so the worker's vLLM launcher can be
tested without vLLM: `write_python(folder)` writes an executable that takes vLLM's command line (the
`-m` module and the flags the launcher spells are read or ignored) and serves the project's fake
OpenAI-compatible server on --port under --served-model-name, listing --max-model-len in /v1/models.

Two flags of its own, passed through the teacher's `extra_args`:
  --crash-after-requests N  answer N chat requests, then on the next one print an engine crash to the
                            log (a traceback, a line that names a secret) and exit with --exit-code
  --startup-lines K         log K lines while "loading", as vLLM does, before /health answers
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
    args, _vllm_flags = p.parse_known_args(argv)
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
