"""The import's former COPY writing, kept as the peer of bench/prompt_import.py: COPY text lines built by
hand with C-level string operations (escaping scanned once per batch), written in large chunks. The
import now writes through psycopg's write_row (backend/prompts/bulk.py); bench/RESULTS.md has why."""

from __future__ import annotations

from typing import Any

import orjson

from backend.prompts.bulk import _scrub
from backend.prompts.importer import Columns

NULL = "\\N"
_SPECIAL = ("\\", "\n", "\t", "\r")


def _escape_one(value: str) -> str:
    for raw, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        if raw in value:
            value = value.replace(raw, escaped)
    return value


def _escaped(values: list[str]) -> list[str]:
    """Every value escaped for COPY's text format (backslash, newline, tab and carriage return).

    Most prompts need nothing escaped, so the whole list is scanned once for the four characters (C-level
    `in` over the joined values) and only the values that hold one are rewritten.
    """
    joined = "".join(values)
    if not any(c in joined for c in _SPECIAL):
        return values
    out = list(values)
    for i, v in enumerate(values):
        if "\\" in v or "\n" in v or "\t" in v or "\r" in v:
            out[i] = _escape_one(v)
    return out


def _column(values: list[Any], encode) -> list[str]:
    """A nullable column in COPY text: \\N for None, else encode(value), escaped as a batch."""
    nulls = values.count(None)
    if nulls == len(values):
        return [NULL] * len(values)
    if not nulls and encode is str and set(map(type, values)) == {str}:
        return _escaped(values)
    present = [i for i, v in enumerate(values) if v is not None]
    out = [NULL] * len(values)
    if present:
        for i, v in zip(present, _escaped([encode(values[i]) for i in present]), strict=True):
            out[i] = v
    return out


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def copy_text(prompt_set_id: int, c: Columns, splits: list[str], hashes: list[str]) -> str:
    """COPY text lines (in bulk.COLUMNS order) of prompts held as Columns.

    No Python code runs per row: each column is built as a list (escaped for the whole batch at once),
    the columns are interleaved into one list by slice assignment and joined with tabs. Rows end where
    one row's split meets the next row's prompt set id: that pair is one element, "train\\n7".
    """
    n = len(c)
    if not n:
        return ""
    dumps = orjson.dumps
    metas = [dumps(m).decode() for m in c.metas]
    if "\\u0000" in "".join(metas):  # jsonb cannot hold NUL: store U+FFFD, as generations do
        metas = [_dumps(_scrub(m)) if "\\u0000" in j else j for m, j in zip(c.metas, metas, strict=True)]
    columns = [
        list(map(str, c.positions)),
        _escaped(c.texts),
        _column(c.systems, str),
        _column(c.messages, _dumps),
        _column(c.references, str),
        _escaped(metas),
        hashes,
    ]
    ps = str(prompt_set_id)
    first = splits[0]
    if splits.count(first) == n:
        ends = [f"{first}\n{ps}"] * n
    else:
        ends = [f"{sp}\n{ps}" for sp in splits]
    columns.append(ends)
    width = len(columns)
    flat: list[str] = [""] * (n * width)
    for i, col in enumerate(columns):
        flat[i::width] = col
    # The first row starts with the id; the last one's end is its split and a newline alone.
    flat[-1] = splits[-1] + "\n"
    return ps + "\t" + "\t".join(flat)
