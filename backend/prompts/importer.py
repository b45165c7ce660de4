"""Map records to prompts, validate them, and report every rejected row.

Parsing is separated from storage so the same code serves the API, the CLI and benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path
from typing import Any

from backend.prompts.readers import READERS
from backend.prompts.report import ImportFailed, Report
from backend.prompts.schemas import ColumnMapping

_PROMPT_KEYS = ("prompt", "question", "problem", "instruction", "input", "messages")
_REFERENCE_KEYS = ("answer", "solution", "reference", "output", "response")
_GSM8K_ANSWER = re.compile(r"####\s*(.+?)\s*$", re.S)


class ParsedPrompt:
    """One valid prompt; its normalised-text hash is computed once, on first use."""

    __slots__ = ("position", "text", "system", "messages", "reference", "meta", "_hash")

    def __init__(self, position, text, system=None, messages=None, reference=None, meta=None):
        self.position, self.text, self.system = position, text, system
        self.messages, self.reference, self.meta = messages, reference, meta if meta is not None else {}
        self._hash: str | None = None

    @property
    def text_hash(self) -> str:
        if self._hash is None:
            self._hash = blake2b(" ".join(self.text.lower().split()).encode(), digest_size=16).hexdigest()
        return self._hash


def normalise(text: str) -> str:
    """Case- and whitespace-insensitive form used for exact-duplicate hashing."""
    return " ".join(text.lower().split())


def _pick(obj: dict[str, Any], wanted: str | None, defaults: tuple[str, ...]) -> str | None:
    if wanted is not None:
        return wanted
    return next((k for k in defaults if k in obj), None)


def _check_messages(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "messages must be a non-empty list of {role, content} objects"
    for i, m in enumerate(value):
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("content"), str)
            or m.get("role") not in ("system", "user", "assistant")
        ):
            return f"messages[{i}] must be an object with role system/user/assistant and string content"
    if value[-1]["role"] != "user":
        return "the last message must be from the user"
    return None


def map_record(
    rowno: int, obj: dict[str, Any], mapping: ColumnMapping, report: Report
) -> ParsedPrompt | None:
    """Turn one record into a prompt, or record why it is rejected."""
    pkey = _pick(obj, mapping.prompt, _PROMPT_KEYS)
    if pkey is None:
        report.reject(
            rowno,
            mapping.prompt,
            "missing_prompt",
            f"no prompt column (looked for {', '.join(_PROMPT_KEYS)})",
        )
        return None
    if pkey not in obj:
        report.reject(rowno, pkey, "missing_column", f"column {pkey!r} is missing")
        return None
    value = obj[pkey]
    messages = None
    system = None
    if isinstance(value, list):
        problem = _check_messages(value)
        if problem:
            report.reject(rowno, pkey, "bad_messages", problem)
            return None
        messages = value
        system = next((m["content"] for m in value if m["role"] == "system"), None)
        text = value[-1]["content"]
    elif isinstance(value, str):
        text = value
    else:
        report.reject(rowno, pkey, "wrong_type", f"expected text, got {type(value).__name__}")
        return None
    if not text.strip():
        report.reject(rowno, pkey, "empty_prompt", "the prompt is empty")
        return None
    if mapping.system:
        sv = obj.get(mapping.system)
        if sv is not None and not isinstance(sv, str):
            report.reject(rowno, mapping.system, "wrong_type", f"expected text, got {type(sv).__name__}")
            return None
        system = sv or system
    rkey = _pick(obj, mapping.reference, _REFERENCE_KEYS)
    reference = obj.get(rkey) if rkey else None
    if reference is not None and not isinstance(reference, str | int | float):
        report.reject(rowno, rkey, "wrong_type", f"expected text or a number, got {type(reference).__name__}")
        return None
    if reference is not None:
        reference = str(reference)
        gsm = _GSM8K_ANSWER.search(reference) if rkey == "answer" else None
        if gsm:  # GSM8K keeps the rationale before '#### 42'; the verifier wants 42
            reference = gsm.group(1)
    used = {pkey, rkey, mapping.system}
    keep = mapping.metadata if mapping.metadata is not None else [k for k in obj if k not in used]
    meta = {k: obj[k] for k in keep if k in obj}
    return ParsedPrompt(rowno, text, system, messages, reference, meta)


def parse_file(path: Path, fmt: str, mapping: ColumnMapping, report: Report) -> Iterator[ParsedPrompt]:
    """Every valid prompt in the file; rejected rows go into the report."""
    if path.is_file() and path.stat().st_size == 0:
        raise ImportFailed("empty_file", "the file is empty")
    records = READERS[fmt](path, report)
    for rowno, obj in records:
        parsed = map_record(rowno, obj, mapping, report)
        if parsed is not None:
            yield parsed
    if report.rows_read == 0:
        raise ImportFailed("empty_file", "the file has no rows")
