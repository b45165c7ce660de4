"""Format readers: each yields (row number, record dict) and reports unreadable rows.

Row numbers are what a user sees in an editor: 1-based lines for JSONL, 1-based data rows for CSV
(the header is row 0), 1-based rows for Parquet and Arrow.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.prompts.report import ImportFailed, Report

Records = Iterator[tuple[int, dict[str, Any]]]


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


READERS: dict[str, Callable[[Path, Report], Records]] = {"jsonl": _records_jsonl, "csv": _records_csv}
