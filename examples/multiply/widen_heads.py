"""Writes a copy of a Llama-shaped model whose attention heads are zero-padded to a wider head size, the
same function as the original: vLLM 0.32's CPU attention serves only some head sizes (32, 64, 80, ...),
and the demo's teacher has heads of 40. backend/demo_onpolicy.py serves such a copy for the on-policy
arm on CPU hosts; the shipped teacher itself is left as trained.

Why the copy computes what the original does, head by head (d = the old size, D = the new one):
- q and k get D - d zero rows, so every q.k dot product is unchanged; q's rows are multiplied by
  sqrt(D / d) so that the attention's 1/sqrt(D) scaling gives the original 1/sqrt(d);
- rotary embeddings rotate the pairs (i, i + size/2) at frequency theta^(-2i/size): the original dims
  0..d/2-1 and d/2..d-1 go to 0..d/2-1 and D/2..D/2+d/2-1, and rope_theta becomes theta^(D/d), so
  those pairs turn at exactly their old frequencies (the padded pairs turn too, but are zero);
- v gets zero rows and o_proj zero columns in the same places, so the heads' outputs are unchanged.
`widen` checks it: the copy's logits on a probe batch must match the original's, else it refuses.

    .venv/bin/python examples/multiply/widen_heads.py SRC DST [--head-dim 64]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_LOGIT_DELTA = 1e-3  # float32 rounding of the rescaled q and the new theta stays far below this
SOURCE_MARK = "widened_from.json"  # in the copy: the source's weights hash, so a changed source is redone


def _weights_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def _rope_theta(config) -> float:
    rope = getattr(config, "rope_parameters", None) or {}
    return float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def widen_model(model, head_dim: int):
    """A new model: `model` (a LlamaForCausalLM) with its heads zero-padded to head_dim."""
    import torch
    from transformers import LlamaForCausalLM

    cfg = model.config
    d = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    if head_dim < d or head_dim % 2 or d % 2:
        raise ValueError(f"cannot widen heads of {d} to {head_dim}: the new size must be even and larger")
    rope = dict(getattr(cfg, "rope_parameters", None) or {"rope_type": "default"})
    if rope.get("rope_type", "default") != "default":
        raise ValueError(f"only plain rotary embeddings can be widened, not {rope['rope_type']!r}")
    new_cfg = cfg.__class__.from_dict(cfg.to_dict())
    new_cfg.head_dim = head_dim
    new_cfg.rope_parameters = {**rope, "rope_theta": _rope_theta(cfg) ** (head_dim / d)}
    wide = LlamaForCausalLM(new_cfg).to(model.dtype)
    half, new_half = d // 2, head_dim // 2
    # where each of a head's old dims lands in the wider head (the two halves rotary pairs across)
    place = torch.tensor([i if i < half else i - half + new_half for i in range(d)])

    def rows(w: torch.Tensor, heads: int, scale: float = 1.0) -> torch.Tensor:
        out = w.new_zeros(heads, head_dim, w.shape[1])
        out[:, place] = w.view(heads, d, w.shape[1]) * scale
        return out.reshape(heads * head_dim, w.shape[1])

    state = model.state_dict()
    new_state = {}
    for name, w in state.items():
        if name.endswith("self_attn.q_proj.weight"):
            new_state[name] = rows(w, cfg.num_attention_heads, math.sqrt(head_dim / d))
        elif name.endswith(("self_attn.k_proj.weight", "self_attn.v_proj.weight")):
            new_state[name] = rows(w, cfg.num_key_value_heads)
        elif name.endswith("self_attn.o_proj.weight"):
            new_state[name] = rows(w.T.contiguous(), cfg.num_attention_heads).T.contiguous()
        elif name.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")):
            raise ValueError("attention biases are not handled: this widening is for the demo's Llama")
        else:
            new_state[name] = w
    wide.load_state_dict(new_state, strict=True)
    wide.generation_config = model.generation_config
    return wide.eval()


def max_logit_delta(a, b, vocab: int, seed: int = 0) -> float:
    """The largest difference of the two models' logits on a random batch of token ids."""
    import torch

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (4, 96), generator=g)
    with torch.no_grad():
        return float((a(input_ids=ids).logits - b(input_ids=ids).logits).abs().max())


def widen(src: Path, dst: Path, head_dim: int = 64) -> Path:
    """Write src's model with heads of head_dim to dst (its tokenizer files copied along); reused when dst
    holds a copy of the same source. Refuses when the copy's logits are not the original's."""
    from transformers import LlamaForCausalLM

    mark = {"source": str(src.resolve()), "weights_sha256": _weights_hash(src), "head_dim": head_dim}
    if (dst / SOURCE_MARK).is_file():
        was = json.loads((dst / SOURCE_MARK).read_text())
        if all(was.get(k) == v for k, v in mark.items()):
            return dst
    model = LlamaForCausalLM.from_pretrained(src, dtype="float32").eval()
    wide = widen_model(model, head_dim)
    delta = max_logit_delta(model, wide, model.config.vocab_size)
    if delta > MAX_LOGIT_DELTA:
        raise RuntimeError(f"the widened model differs from {src}: logits up to {delta:.3g} apart")
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    wide.save_pretrained(dst, safe_serialization=True)
    for f in src.iterdir():  # the tokenizer and chat template, as they were
        if f.is_file() and f.name not in ("config.json", "model.safetensors", "generation_config.json"):
            shutil.copy2(f, dst / f.name)
    (dst / SOURCE_MARK).write_text(json.dumps({**mark, "max_logit_delta": delta}) + "\n")
    return dst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--head-dim", type=int, default=64)
    args = ap.parse_args()
    print(widen(args.src, args.dst, args.head_dim))
    return 0


if __name__ == "__main__":
    sys.exit(main())
