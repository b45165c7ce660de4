"""examples/multiply/widen_heads.py: a Llama with heads of 40 (which vLLM's CPU build refuses) copied with
heads zero-padded to 64 computes the same logits, and the check that says so catches a copy that does not;
the demo's on-policy arm serves the copy on a CPU host and the teacher itself where vLLM runs its heads."""

from __future__ import annotations

import json
import sys

import pytest

from backend.demo_flow import TASK

pytestmark = pytest.mark.pure
sys.path.insert(0, str(TASK))

import widen_heads  # noqa: E402


def _llama(heads: int = 2, hidden: int = 80, kv: int | None = None, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=50, hidden_size=hidden, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=heads, num_key_value_heads=kv or heads,
                      max_position_embeddings=128, tie_word_embeddings=True)  # fmt: skip
    return LlamaForCausalLM(cfg).eval()


@pytest.mark.parametrize("kv", [2, 1])  # plain and grouped-query attention
def test_a_widened_copy_computes_the_same_logits(kv):
    model = _llama(kv=kv)
    assert model.config.head_dim == 40
    wide = widen_heads.widen_model(model, 64)
    assert wide.config.head_dim == 64 and wide.model.layers[0].self_attn.q_proj.weight.shape == (128, 80)
    assert widen_heads.max_logit_delta(model, wide, 50) < 1e-4


def test_the_check_catches_a_copy_that_is_not_the_same():
    """Zero padding alone is not enough: without the new rope_theta (or q's rescale) the heads attend
    differently, and max_logit_delta says so."""
    import torch

    model = _llama()
    wide = widen_heads.widen_model(model, 64)
    wide.config.rope_parameters["rope_theta"] = 10000.0
    wide.model.rotary_emb = type(wide.model.rotary_emb)(config=wide.config)
    assert widen_heads.max_logit_delta(model, wide, 50) > widen_heads.MAX_LOGIT_DELTA
    wide = widen_heads.widen_model(model, 64)
    with torch.no_grad():
        for layer in wide.model.layers:
            layer.self_attn.q_proj.weight /= (64 / 40) ** 0.5  # undo the rescale of q
    assert widen_heads.max_logit_delta(model, wide, 50) > widen_heads.MAX_LOGIT_DELTA


def test_narrower_or_odd_sizes_are_refused():
    model = _llama()
    for bad in (32, 65):
        with pytest.raises(ValueError, match="cannot widen heads of 40"):
            widen_heads.widen_model(model, bad)


def test_widen_writes_once_per_source(tmp_path):
    src = tmp_path / "teacher"
    _llama().save_pretrained(src)
    (src / "tokenizer.json").write_text("{}")
    out = widen_heads.widen(src, tmp_path / "wide", 64)
    mark = json.loads((out / widen_heads.SOURCE_MARK).read_text())
    assert json.loads((out / "config.json").read_text())["head_dim"] == 64
    assert (out / "tokenizer.json").read_text() == "{}" and mark["max_logit_delta"] < 1e-4
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert widen_heads.widen(src, out, 64) == out and (out / "model.safetensors").stat().st_mtime_ns == stamp
    _llama(seed=1).save_pretrained(src)  # a retrained teacher: its copy is written again
    widen_heads.widen(src, out, 64)
    assert json.loads((out / widen_heads.SOURCE_MARK).read_text())["weights_sha256"] != mark["weights_sha256"]


def test_the_onpolicy_arm_serves_the_widened_teacher_on_cpu(tmp_path):
    from backend.demo_onpolicy import servable

    teacher = tmp_path / "teacher"
    _llama().save_pretrained(teacher)
    folder, placement = servable(teacher, tmp_path, gpu=False)
    assert folder == tmp_path / "demo" / "teacher-heads64" and "zero-padded to 64" in placement
    assert servable(teacher, tmp_path, gpu=True) == (teacher, "vllm")  # vLLM on a GPU runs heads of 40
    served = tmp_path / "served"
    _llama(heads=5, hidden=160).save_pretrained(served)  # heads of 32: served as it is
    assert servable(served, tmp_path, gpu=False) == (served, "vllm")
