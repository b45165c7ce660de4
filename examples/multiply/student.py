"""The demo's student before training: a Llama-shaped model about 10x smaller than the teacher, with the
teacher's character tokenizer, its weights freshly initialised from config (no hub, nothing learned).

    .venv/bin/python examples/multiply/student.py var/demo/student-base
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tokenizer as chars  # noqa: E402
from train_teacher import make_config  # noqa: E402

STUDENT = {"hidden_size": 48, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 160}


def build(folder: Path, seed: int = 0) -> Path:
    """Write the untrained student (config, weights, tokenizer) to folder; reused when it is there."""
    if (folder / "model.safetensors").is_file():
        return folder
    import torch
    from transformers import LlamaForCausalLM

    tok = chars.build(folder)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(make_config(len(tok), STUDENT, tok))
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(folder, safe_serialization=True)
    return folder


if __name__ == "__main__":
    out = build(Path(sys.argv[1] if len(sys.argv) > 1 else "var/demo/student-base"))
    print(out)
