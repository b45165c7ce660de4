"""The student's stop and pad tokens, read off its own files.

Stops: every token that ends an assistant turn for the family: the tokenizer's EOS, generation_config's
eos list (Llama 3's <|eot_id|> and <|eom_id|>, Gemma's <end_of_turn>, Phi's <|end|>) and the end-of-turn
markers templates write.

Pad: labels are built by position (encode.py), so pad == EOS cannot hide the EOS from the loss; still,
a pad that is also a stop token makes every padded batch look like it stops, and a student saved
without a pad breaks batched serving. So a student whose pad is missing or is a stop token gets a
distinct pad from the family's own reserved tokens (no new embedding row), recorded in the summary and
saved with the student.
"""

from __future__ import annotations

from pathlib import Path

MARKERS = ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<｜end▁of▁sentence｜>")
# reserved tokens in the order a family's own docs pick them for padding
PAD_PREFERENCE = ("finetune_right_pad", "fim_pad", "<pad>", "pad", "reserved", "placeholder", "dummy")


def generation_eos(student: str) -> list[int]:
    from transformers import GenerationConfig

    try:
        cfg = GenerationConfig.from_pretrained(student)
    except (OSError, ValueError):
        return []
    eos = cfg.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos or [])


def stop_ids(tokenizer, student: str | Path | None = None) -> set[int]:
    ids = {tokenizer.eos_token_id, *(generation_eos(str(student)) if student else [])}
    for tok in MARKERS:
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id:
            ids.add(tid)
    return {i for i in ids if i is not None}


def choose_pad(tokenizer, stops: set[int], template: str) -> dict:
    """Set a pad token that is neither EOS nor an end-of-turn marker the template writes (Qwen's pad
    <|endoftext|> is in its generation eos list, but its turns end on <|im_end|>: it stays); what was
    done, for the summary."""
    pad = tokenizer.pad_token_id
    ends = {tokenizer.eos_token_id} | {i for i in stops if tokenizer.convert_ids_to_tokens(i) in template}
    if pad is not None and pad not in ends:
        return {"token": tokenizer.pad_token, "id": pad, "source": "student"}
    taken = stops | ends | {tokenizer.bos_token_id}
    candidates = [
        (rank, tid, tok.content)
        for tid, tok in tokenizer.added_tokens_decoder.items()
        for rank, word in enumerate(PAD_PREFERENCE)
        if word in tok.content and tid not in taken and tok.content not in template
    ]
    reason = "had none" if pad is None else f"was the stop token {tokenizer.pad_token}"
    if not candidates:
        # nothing reserved: EOS pads, which the positional labels make safe for training
        tokenizer.pad_token = tokenizer.eos_token
        return {"token": tokenizer.eos_token, "id": tokenizer.eos_token_id, "source": f"eos (pad {reason})"}
    _, tid, content = min(candidates)
    tokenizer.pad_token = content
    return {"token": content, "id": tid, "source": f"chosen from reserved tokens (pad {reason})"}
