"""The demo's teacher served by vLLM's CPU build for the on-policy arm (backend/demo_onpolicy.py): its heads
of 40 are refused there, so the arm serves a copy with heads zero-padded to 64 (examples/multiply/
widen_heads.py). Here the real server scores a real worked trace through the client on-policy
distillation uses (workers/training/served.py, TRL's get_sequence_logprobs), and its logprobs are the
original teacher's, computed by transformers: the served teacher is the demo's teacher."""

from __future__ import annotations

import sys

import pytest

from backend.demo_flow import TASK, TEACHER
from tests.support.env import DATA_DIR
from workers.teachers.vllm_server import VLLMServerSpec, acquire, release_all, vllm_python

sys.path.insert(0, str(TASK))

import task  # noqa: E402
import widen_heads  # noqa: E402

TOP_K = 5


@pytest.fixture(scope="module")
def served():
    import subprocess

    python = vllm_python()
    probe = [python, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        pytest.skip(f"no vLLM in {python}: run scripts/setup-vllm.sh (make vllm)")
    folder = widen_heads.widen(TEACHER, DATA_DIR / "models" / "demo-teacher-heads64", 64)
    spec = VLLMServerSpec(str(folder), served_model_name="demo-teacher", dtype="float32", max_model_len=256,
                          enforce_eager=True, gpu_memory_utilization=0.05)  # fmt: skip
    try:
        yield acquire(spec)
    finally:
        release_all()


def test_vllm_scores_a_trace_as_the_demo_teacher_does(served):
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from workers.training.served import Served, endpoint_logprobs

    tok = AutoTokenizer.from_pretrained(TEACHER)
    chat = [{"role": "user", "content": task.QUESTION.format(a=4827, b=9)},
            {"role": "assistant", "content": task.trace(4827, 9, skip_working=False)}]  # fmt: skip
    ids = tok.apply_chat_template(chat, tokenize=True, return_dict=False)
    client = endpoint_logprobs(Served(served.base_url.removesuffix("/v1"), served.served_name))
    got = client.get_sequence_logprobs([ids], [1], top_logprobs=TOP_K)

    model = LlamaForCausalLM.from_pretrained(TEACHER, dtype="float32").eval()  # the shipped heads of 40
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    n = len(ids) - 1
    want = [float(logp[i - 1, ids[i]]) for i in range(1, len(ids))]
    top = torch.topk(logp[:-1], TOP_K, dim=-1)  # the teacher's own top-k at each position
    actual = [row[0] for row in got["actual_logprobs"][0]]
    assert len(actual) == n and len(got["logprobs"][0]) == n
    # a token outside the top-k comes back -inf (TRL's format); the rest are the teacher's own logprobs
    scored = [(a, b) for a, b in zip(actual, want, strict=True) if a != float("-inf")]
    assert len(scored) > n // 2 and max(abs(a - b) for a, b in scored) < 1e-3
    # the top-k alternatives are the teacher's: the first id wherever it is no near-tie, every logprob
    # within rounding
    clear = [i for i in range(n) if float(top.values[i, 0] - top.values[i, 1]) > 1e-3]
    assert len(clear) > n // 2
    assert [got["logprob_token_ids"][0][i][0] for i in clear] == [int(top.indices[i, 0]) for i in clear]
    assert max(abs(g - w) for gs, ws in zip(got["logprobs"][0], top.values.tolist(), strict=True)
               for g, w in zip(gs, ws, strict=True)) < 1e-3  # fmt: skip
