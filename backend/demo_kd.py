"""The demo's kd arm (backend/demo_flow.py's EXTRA_ARMS): the verified arm's recipe with the teacher's
top-K logprobs captured at generation (rollout.logprobs: the snapshot gets teacher_logprobs.parquet),
and the student trained with the kd method (cross-entropy mixed with the KL to the teacher's top-K).
The demo's student shares the teacher's character tokenizer, as kd requires. Its rollout draws its own
attempts: the response cache holds no logprobs, so a run that asks for them does not read it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.demo_flow import ExtraContext

KD_TOP_K = 20  # the teacher's top-K per token kept by the capture (the most vLLM returns by default)


def kd(x: ExtraContext) -> dict:
    from backend.demo_flow import recipe, teacher

    out = recipe(x.pset, teacher(x.api, x.pid), x.size, "verified", x.seed, x.base)
    out["rollout"]["logprobs"] = KD_TOP_K
    out["train"].update(method="kd", alpha=0.5, temperature=1.0)
    out["evaluate"]["models"] = [{"role": "student"}]
    return out
