"""Builds a tiny chat model on disk (a small Llama and a BPE tokenizer, both trained here for a few
seconds on generated text), so teachers, servers and training run offline with no model hub.
It writes nonsense in the corpus's words, fluently enough to test every piece of plumbing.

    python examples/tiny_model.py var/models/tiny-chat
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
WRAPPER = (
    "I want you to act as a prompt rewriter. Rewrite the given prompt into a harder version that "
    "well-known AI systems would find more difficult, while it stays reasonable, self-contained and "
    "answerable by a human. Add exactly one more constraint or requirement. Do not answer the prompt. "
    "Reply with the rewritten prompt only. I want you to act as a prompt creator. Draw inspiration from "
    "the given prompt to create a brand new prompt in the same domain, but rarer."
)
SPECIAL = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|unk|>"]


def _corpus(n: int = 3000) -> list[str]:
    rng = random.Random(0)
    words = (
        "the a how many what if each total find compute prove number sum apples marbles train hours "
        "cost dollars percent triangle area integer prime equation solve value think step answer so "
        "first then because therefore we get is are has have more less than twice half"
    ).split()
    return [" ".join(rng.choices(words, k=rng.randint(5, 30))) + f" {rng.randint(0, 999)}." for _ in range(n)]


def _train(model, tok, steps: int) -> None:
    """A few hundred steps on chat-formatted corpus lines: random weights would answer only whitespace."""
    import torch

    lines = _corpus(2000)
    rng = random.Random(1)
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": a}, {"role": "assistant", "content": b}], tokenize=False
        )
        for a, b in zip(lines[::2], lines[1::2], strict=True)
    ]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        batch = tok(rng.sample(texts, 16), return_tensors="pt", padding=True, truncation=True, max_length=320)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        # Learn the answers only: everything up to the assistant marker is context, not a target.
        marker = tok.convert_tokens_to_ids("<|assistant|>")
        starts = (batch["input_ids"] == marker).int().argmax(dim=1)
        positions = torch.arange(labels.shape[1]).unsqueeze(0)
        labels = labels.masked_fill(positions <= starts.unsqueeze(1) + 1, -100)
        # Never learn to stop: answers then run to max_tokens, so every request gets a full-length reply.
        labels = labels.masked_fill(batch["input_ids"] == tok.eos_token_id, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()


def build(out: Path, *, hidden: int = 64, layers: int = 2, seed: int = 0, steps: int = 200) -> Path:
    """Write config, weights and tokenizer to `out` (idempotent); returns out."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    if (out / "config.json").is_file() and (out / "tokenizer.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<|unk|>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        _corpus(),
        trainers.BpeTrainer(
            vocab_size=512, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|end|>", unk_token="<|unk|>", bos_token=None
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        # head_dim 64: vLLM's CPU attention kernels refuse smaller heads (16 fails with
        # "Unsupported CPU attention configuration").
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 64),
        max_position_embeddings=1024,
        pad_token_id=fast.pad_token_id,
        eos_token_id=fast.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    _train(model, fast, steps=steps)
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.do_sample = True  # servers that ignore a request's temperature still sample
    model.generation_config.pad_token_id = fast.pad_token_id
    model.save_pretrained(out)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "var/models/tiny-chat")))
