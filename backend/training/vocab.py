"""What says two tokenizers agree, by content rather than by name: the sha256 of the vocabulary (every
token string with its id) and of the chat template. The teacher logprob cache of a snapshot carries the
teacher's (teacher_logprobs.parquet's `distillery.tokenizer_hash`, `distillery.template_hash`), and the kd
train method compares the student's against it: token ids mean the same strings only when they match."""

from __future__ import annotations

import hashlib
import json


def vocab_hash(tokenizer) -> str:
    """sha256 (hex) of json.dumps(sorted(tokenizer.get_vocab().items())), utf-8."""
    return hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode("utf-8")).hexdigest()


def template_hash(tokenizer) -> str:
    """sha256 (hex) of the chat template string, or "" when the tokenizer has none."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return ""
    if not isinstance(template, str):  # a dict of named templates: the default one is what renders
        template = template.get("default") or json.dumps(template, sort_keys=True)
    return hashlib.sha256(template.encode("utf-8")).hexdigest()
