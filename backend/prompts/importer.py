"""Read a prompt file row by row, map columns, validate, and report every rejected row.

Parsing is separated from storage so the same code serves the API, the CLI and benchmarks.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.prompts.schemas import ColumnMapping, ImportReport, RowError

MAX_REPORTED_ERRORS = 200
_PROMPT_KEYS = ("prompt", "question", "problem", "instruction", "input", "messages")
_REFERENCE_KEYS = ("answer", "solution", "reference", "output", "response")
_GSM8K_ANSWER = re.compile(r"####\s*(.+?)\s*$", re.S)


class ImportFailed(Exception):
    """The file as a whole cannot be read (not a format we know, not UTF-8, empty)."""

    def __init__(self, reason: str, message: str, row: int | None = None):
        super().__init__(message)
        self.reason, self.message, self.row = reason, message, row


@dataclass
class ParsedPrompt:
    position: int
    text: str
    system: str | None
    messages: list[dict[str, Any]] | None
    reference: str | None
    meta: dict[str, Any]

    @property
    def text_hash(self) -> str:
        return hashlib.blake2b(normalise(self.text).encode(), digest_size=16).hexdigest()


@dataclass
class Report:
    rows_read: int = 0
    rows_stored: int = 0
    errors: list[RowError] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)

    def reject(self, row: int, fld: str | None, reason: str, message: str) -> None:
        self.reasons[reason] += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row=row, field=fld, reason=reason, message=message))

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def out(self) -> ImportReport:
        return ImportReport(
            rows_read=self.rows_read,
            rows_stored=self.rows_stored,
            rows_rejected=self.rejected,
            errors=self.errors,
            reasons=dict(self.reasons),
        )


def normalise(text: str) -> str:
    """Case- and whitespace-insensitive form used for exact-duplicate hashing."""
    return " ".join(text.lower().split())


def detect_format(path: Path, filename: str) -> str:
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    raise ImportFailed("unsupported_format", f"cannot tell the format of {filename!r}; use .jsonl or .csv")


def _records_jsonl(path: Path, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if b"\x00" in raw:
                raise ImportFailed("binary_file", f"line {lineno}: binary data, not JSON Lines", lineno)
            if not raw.strip():
                continue
            report.rows_read += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.reject(lineno, None, "not_utf8", f"bytes at offset {exc.start} are not UTF-8")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                report.reject(
                    lineno, None, "malformed_json", f"malformed JSON: {exc.msg} at column {exc.colno}"
                )
                continue
            if not isinstance(obj, dict):
                report.reject(
                    lineno, None, "not_an_object", f"expected a JSON object, got {type(obj).__name__}"
                )
                continue
            yield lineno, obj


def _records_csv(path: Path, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        head = fh.read(8192)
    if b"\x00" in head:
        raise ImportFailed("binary_file", "binary data, not CSV", 1)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return
            dupes = [h for h, n in Counter(header).items() if n > 1]
            if dupes:
                raise ImportFailed("duplicate_header", f"duplicate CSV header(s): {', '.join(dupes)}", 1)
            for rowno, values in enumerate(reader, start=1):
                report.rows_read += 1
                if len(values) != len(header):
                    report.reject(
                        rowno,
                        None,
                        "wrong_column_count",
                        f"expected {len(header)} columns, found {len(values)}",
                    )
                    continue
                yield rowno, dict(zip(header, values, strict=True))
    except UnicodeDecodeError as exc:
        raise ImportFailed("not_utf8", f"the file is not UTF-8 (byte offset {exc.start})") from exc


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
    if path.stat().st_size == 0:
        raise ImportFailed("empty_file", "the file is empty")
    records = _records_jsonl(path, report) if fmt == "jsonl" else _records_csv(path, report)
    for rowno, obj in records:
        parsed = map_record(rowno, obj, mapping, report)
        if parsed is not None:
            yield parsed
    if report.rows_read == 0:
        raise ImportFailed("empty_file", "the file has no rows")
