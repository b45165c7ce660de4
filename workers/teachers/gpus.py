"""Which GPUs a worker owns, and how a vLLM server it starts is placed on them.

A gpu worker owns a set of GPUs (DISTILLERY_WORKER_GPUS, else the CUDA_VISIBLE_DEVICES it was started
with, else every GPU of the host). The vLLM server it starts gets exactly those as its
CUDA_VISIBLE_DEVICES, so two workers on one host never load a teacher onto each other's devices,
and a teacher must fit in them: tensor_parallel_size x pipeline x data parallel sizes at most the
worker's GPUs. A teacher that does not fit is a user error (Invalid) on the stage: no retry, no
other worker of the same layout, mends it, and a crash would only be re-delivered.

One replica per GPU is one worker per GPU (docs/deployment.md, GPU layouts): the workers share a
rollout's chunks through PostgreSQL, each driving its own server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from backend.core.config import get_settings
from backend.core.errors import Invalid

log = logging.getLogger(__name__)
DRIVER_GPUS = Path("/proc/driver/nvidia/gpus")  # one folder per GPU, by PCI bus id
# extra_args flags that multiply the GPUs one server needs (backend/teachers/vllm_flags.py allows them)
PARALLEL_FLAGS = {
    "--pipeline-parallel-size": "pipeline_parallel_size",
    "-pp": "pipeline_parallel_size",
    "--data-parallel-size": "data_parallel_size",
    "-dp": "data_parallel_size",
}


def host_gpu_count() -> int:
    """GPUs the host's NVIDIA driver lists (0 without one); read from /proc, so no torch is needed."""
    try:
        return sum(1 for _ in DRIVER_GPUS.iterdir())
    except OSError:
        return 0


def worker_gpus(
    environ: Mapping[str, str] | None = None, host_gpus: int | None = None
) -> tuple[str, ...] | None:
    """The GPUs this worker owns, as CUDA_VISIBLE_DEVICES names them; None on a host without GPUs (vLLM's
    CPU build: nothing to place). DISTILLERY_WORKER_GPUS always counts, so a test can set it anywhere."""
    configured = get_settings().worker_gpus
    if configured:
        return tuple(configured.split(","))
    count = host_gpu_count() if host_gpus is None else host_gpus
    if count == 0:
        return None
    visible = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return tuple(str(i) for i in range(count))
    owned: list[str] = []
    for name in (g.strip() for g in visible.split(",")):
        if not name or name.startswith("-"):  # CUDA stops at the first invalid entry ("-1": none)
            break
        owned.append(name)
    return tuple(owned)


def parallel_sizes(tensor_parallel_size: int, extra_args: Sequence[str]) -> dict[str, int]:
    """The server's parallel sizes: tensor from the teacher's setting, pipeline and data from its
    extra_args ("--flag N" or "--flag=N"; 1 where absent)."""
    sizes = {
        "tensor_parallel_size": tensor_parallel_size,
        "pipeline_parallel_size": 1,
        "data_parallel_size": 1,
    }
    args = list(extra_args)
    for i, arg in enumerate(args):
        flag, _, value = arg.partition("=")
        if flag not in PARALLEL_FLAGS:
            continue
        if not value and i + 1 < len(args):
            value = args[i + 1]
        try:
            sizes[PARALLEL_FLAGS[flag]] = max(int(value), 1)
        except ValueError:
            raise Invalid(
                f"extra_args {flag} needs a whole number, not {value!r}",
                code="bad_parallel_size",
                fields=[{"path": "settings.extra_args", "message": f"{flag} needs a whole number"}],
            ) from None
    return sizes


def gpus_needed(tensor_parallel_size: int, extra_args: Sequence[str] = ()) -> int:
    n = 1
    for size in parallel_sizes(tensor_parallel_size, extra_args).values():
        n *= size
    return n


def placement(
    tensor_parallel_size: int, extra_args: Sequence[str], gpus: tuple[str, ...] | None, *, what: str
) -> dict[str, str]:
    """The environment a server gets on this worker's GPUs (empty on a CPU host). Raises Invalid, naming
    `what` (the teacher or model) and the sizes, when the worker owns fewer GPUs than it needs."""
    if gpus is None:
        return {}
    sizes = parallel_sizes(tensor_parallel_size, extra_args)
    need = gpus_needed(tensor_parallel_size, extra_args)
    if need > len(gpus):
        how = " x ".join(f"{k} {v}" for k, v in sizes.items() if v > 1) or "one GPU"
        owned = f"{len(gpus)} ({','.join(gpus)})" if gpus else "none"
        message = (
            f"{what} needs {need} GPUs ({how}) but this worker owns {owned}: start the worker with more "
            f"GPUs (DISTILLERY_WORKER_GPUS or CUDA_VISIBLE_DEVICES) or lower tensor_parallel_size"
        )
        raise Invalid(
            message,
            code="teacher_needs_more_gpus",
            fields=[{"path": "settings.tensor_parallel_size", "message": message}],
        )
    if need < len(gpus):
        log.warning(
            "%s uses %d of this worker's %d GPUs; the rest stay idle (one worker per GPU runs a replica "
            "on each, or set --data-parallel-size)", what, need, len(gpus),
        )  # fmt: skip
    return {"CUDA_VISIBLE_DEVICES": ",".join(gpus)}


def check_teacher_fits(backend: str, base_url: str | None, settings: Mapping[str, Any], what: str) -> None:
    """For a vllm teacher this worker would start: Invalid now (at the chunk's claim) if it cannot fit
    in this worker's GPUs, before any model loads. Malformed sizes are left to the server's spec,
    which names the setting."""
    if backend != "vllm" or base_url:
        return
    tp, extra = settings.get("tensor_parallel_size") or 1, settings.get("extra_args") or ()
    if not isinstance(tp, int) or isinstance(tp, bool) or not isinstance(extra, list | tuple):
        return
    placement(tp, [str(a) for a in extra], worker_gpus(), what=what)
