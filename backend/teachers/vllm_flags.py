"""Which flags a vllm teacher's `extra_args` may pass to the vLLM server the worker starts.

extra_args used to reach `vllm serve` verbatim, so any project maintainer could start a server with
--trust-remote-code (the model repository's Python runs in the worker) or point it at files and URLs
outside the model (--chat-template, --tokenizer, --download-dir, --load-format...). Only the tuning
flags below are accepted; any other flag is refused (422 naming it) unless an administrator lists it
in DISTILLERY_VLLM_EXTRA_ARGS_ALLOWED. Flags Distillery sets itself (model, host, port, name, the
teacher's typed settings) are never accepted here.
"""

from __future__ import annotations

import re

from backend.core.config import get_settings

# Performance and scheduling knobs: they read no code, no files and no URLs.
ALLOWED_FLAGS = frozenset(
    """
    --max-num-seqs --max-num-batched-tokens --max-seq-len-to-capture --max-logprobs --seed
    --swap-space --cpu-offload-gb --block-size --kv-cache-dtype --quantization
    --pipeline-parallel-size --data-parallel-size --enable-expert-parallel --distributed-executor-backend
    --enable-chunked-prefill --no-enable-chunked-prefill --scheduling-policy --num-scheduler-steps
    --disable-custom-all-reduce --disable-log-requests --disable-log-stats --enable-log-requests
    --uvicorn-log-level --max-parallel-loading-workers --rope-theta --rope-scaling
    --override-generation-config --disable-sliding-window --disable-cascade-attn
    --async-scheduling --long-prefill-token-threshold --max-num-partial-prefills
    """.split()
)
# Set from the teacher's own fields or by the launcher: a second value would contradict them.
OWN_FLAGS = frozenset(
    """
    --model --served-model-name --host --port --tensor-parallel-size --max-model-len
    --gpu-memory-utilization --enable-prefix-caching --no-enable-prefix-caching --reasoning-parser
    --dtype --enforce-eager --api-key
    """.split()
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def admin_allowed() -> frozenset[str]:
    """Flags the administrator allows beyond ALLOWED_FLAGS (DISTILLERY_VLLM_EXTRA_ARGS_ALLOWED)."""
    raw = get_settings().vllm_extra_args_allowed
    return frozenset(f.strip() for f in raw.split(",") if f.strip())


def refused_flags(args: list[str] | tuple[str, ...]) -> list[tuple[int, str, str]]:
    """(index, flag, why) for each argument that may not be passed; empty when all may."""
    allowed = ALLOWED_FLAGS | admin_allowed()
    out: list[tuple[int, str, str]] = []
    for i, arg in enumerate(args):
        if not arg.startswith("-") or _NUMBER.fullmatch(arg):
            if i == 0:  # a value must follow the flag it belongs to
                out.append((i, arg, "a value with no flag before it"))
            continue
        flag = arg.split("=", 1)[0]
        if flag in OWN_FLAGS:
            out.append((i, flag, "set by Distillery from the teacher's own settings; use those"))
        elif flag not in allowed:
            out.append(
                (
                    i,
                    flag,
                    "not an allowed vLLM flag; an administrator may allow it with "
                    "DISTILLERY_VLLM_EXTRA_ARGS_ALLOWED (see docs/settings.md)",
                )
            )
    return out
