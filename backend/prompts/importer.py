"""Map records to prompts, validate them, and report every rejected row.

Parsing is separated from storage so the same code serves the API, the CLI and benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backend.core.config import get_settings
from backend.prompts import hub
from backend.prompts.code_tests import BadTests, parse_tests
from backend.prompts.dedup.hashing import text_hashes, word_hashes
from backend.prompts.readers import READERS
from backend.prompts.references import split_reference
from backend.prompts.report import ImportFailed, Report
from backend.prompts.schemas import ColumnMapping

_PROMPT_KEYS = ("prompt", "question", "problem", "instruction", "input", "messages")
_REFERENCE_KEYS = ("answer", "solution", "reference", "output", "response")
_ENTRY_POINT_KEYS = ("entry_point",)
_ID_KEYS = ("id", "task_id")


def _tests_key(obj: dict[str, Any]) -> str | None:
    """`tests`, else HumanEval's `test` (only beside `entry_point`: a bare `test` column may mean
    anything, e.g. a split flag)."""
    if "tests" in obj:
        return "tests"
    return "test" if "test" in obj and "entry_point" in obj else None


class ParsedPrompt:
    """One valid prompt; its normalised-text hash is computed once, on first use."""

    __slots__ = ("position", "text", "system", "messages", "reference", "meta", "_hash")

    def __init__(self, position, text, system=None, messages=None, reference=None, meta=None) -> None:
        self.position, self.text, self.system = position, text, system
        self.messages, self.reference, self.meta = messages, reference, meta if meta is not None else {}
        self._hash: str | None = None

    @property
    def text_hash(self) -> str:
        """Hash of the normalised text; the cleaning pipeline fills it for a whole batch at once."""
        if self._hash is None:
            self._hash = text_hashes(word_hashes([self.text]))[0]
        return self._hash


class Columns:
    """Prompts as one list per field (what ParsedPrompt holds per row), for code that works a column
    at a time: no object per row."""

    __slots__ = ("positions", "texts", "systems", "messages", "references", "metas")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.texts: list[str] = []
        self.systems: list[str | None] = []
        self.messages: list[list[dict[str, Any]] | None] = []
        self.references: list[str | None] = []
        self.metas: list[dict[str, Any]] = []

    def lists(self) -> tuple[list, ...]:
        return self.positions, self.texts, self.systems, self.messages, self.references, self.metas

    def append(self, p: ParsedPrompt) -> None:
        self.positions.append(p.position)
        self.texts.append(p.text)
        self.systems.append(p.system)
        self.messages.append(p.messages)
        self.references.append(p.reference)
        self.metas.append(p.meta)

    @classmethod
    def of(cls, prompts: list[ParsedPrompt]) -> Columns:
        c = cls()
        c.positions = [p.position for p in prompts]
        c.texts = [p.text for p in prompts]
        c.systems = [p.system for p in prompts]
        c.messages = [p.messages for p in prompts]
        c.references = [p.reference for p in prompts]
        c.metas = [p.meta for p in prompts]
        return c

    def __len__(self) -> int:
        return len(self.positions)


def _pick(obj: dict[str, Any], wanted: str | None, defaults: tuple[str, ...]) -> str | None:
    """The mapping's column; "" means none; None means the first of the usual names the row has."""
    if wanted is not None:
        return wanted or None
    return next((k for k in defaults if k in obj), None)


class Layout:
    """Which key of a row shape holds what; `plain` rows need no per-row work beyond the text checks."""

    __slots__ = ("prompt", "reference", "tests", "entry_point", "id", "keep", "plain")

    def __init__(self, prompt, reference, tests, entry_point, id_, keep):
        self.prompt, self.reference, self.tests, self.entry_point, self.id = (
            prompt,
            reference,
            tests,
            entry_point,
            id_,
        )
        self.keep = keep
        # tests are checked and entry_point folded into them; an id under another name is renamed
        self.plain = tests is None and entry_point is None and id_ in (None, "id")


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
        if "\x00" in m["content"]:
            return f"messages[{i}] contains a NUL character, which cannot be stored"
    if value[-1]["role"] != "user":
        return "the last message must be from the user"
    return None


class RecordMapper:
    """Turns records into prompts. The column layout (which key is the prompt, the reference, the
    metadata) is worked out once per distinct set of keys, not once per row."""

    def __init__(self, mapping: ColumnMapping, report: Report):
        self.mapping, self.report = mapping, report
        self.max_chars = get_settings().max_prompt_chars
        self._layouts: dict[tuple[str, ...], Layout] = {}

    def _layout(self, obj: dict[str, Any]) -> Layout:
        m = self.mapping
        pkey = _pick(obj, m.prompt, _PROMPT_KEYS)
        rkey = _pick(obj, m.reference, _REFERENCE_KEYS)
        tkey = (m.tests or None) if m.tests is not None else _tests_key(obj)
        ekey = _pick(obj, m.entry_point, _ENTRY_POINT_KEYS)
        ikey = _pick(obj, m.id, _ID_KEYS)
        used = {pkey, rkey, m.system, tkey, ekey, ikey if ikey != "id" else None}  # `id` stays as it is
        keep = tuple(m.metadata) if m.metadata is not None else tuple(k for k in obj if k not in used)
        return Layout(pkey, rkey, tkey, ekey, ikey, keep)

    def batches(
        self, records: Iterator[tuple[int, dict[str, Any]]], size: int
    ) -> Iterator[list[ParsedPrompt]]:
        """The valid prompts of the records in lists of up to `size` (see columns)."""
        for c in self.columns(records, size):
            yield list(map(ParsedPrompt, c.positions, c.texts, c.systems, c.messages, c.references, c.metas))

    def columns(self, records: Iterator[tuple[int, dict[str, Any]]], size: int) -> Iterator[Columns]:
        """The valid prompts of the records as Columns of up to `size` rows; rejected rows go into the
        report.

        The common row (a text prompt that needs no check beyond being non-empty text without NUL, a
        text reference or none, metadata as the record holds it) is mapped inline here; every other row
        goes through __call__, which checks it in full. Both give the same result.
        """
        layouts, full, max_chars = self._layouts, self.__call__, self.max_chars
        plain = self.mapping.system is None and self.mapping.metadata is None
        out = Columns()
        positions, texts, systems, messages, references, metas = out.lists()
        for rowno, obj in records:
            layout = layouts.get(tuple(obj))
            parsed: ParsedPrompt | bool | None = None  # True: mapped inline into the columns
            if layout is not None and plain and layout.plain:
                pkey, rkey, keep = layout.prompt, layout.reference, layout.keep
                text = obj.get(pkey)
                if (
                    type(text) is str
                    and text
                    and len(text) <= max_chars
                    and "\x00" not in text
                    and not text.isspace()
                ):
                    ref = obj.get(rkey) if rkey is not None else None
                    if ref is None or (type(ref) is str and "\x00" not in ref):
                        worked = None
                        if ref and rkey in ("answer", "solution"):
                            ref, worked = split_reference(rkey, ref)
                        positions.append(rowno)
                        texts.append(text)
                        systems.append(None)
                        messages.append(None)
                        references.append(ref)
                        meta = {k: obj[k] for k in keep}
                        metas.append({**meta, **worked} if worked else meta)
                        parsed = True
            if parsed is None:
                parsed = full(rowno, obj)
                if parsed is None:
                    continue
                out.append(parsed)
            if len(positions) >= size:
                yield out
                out = Columns()
                positions, texts, systems, messages, references, metas = out.lists()
        if positions:
            yield out

    def __call__(self, rowno: int, obj: dict[str, Any]) -> ParsedPrompt | None:
        """The prompt in one record, or None after recording why the row is rejected."""
        shape = tuple(obj)
        layout = self._layouts.get(shape)
        if layout is None:
            layout = self._layouts[shape] = self._layout(obj)
        pkey, rkey, keep = layout.prompt, layout.reference, layout.keep
        reject, mapping = self.report.reject, self.mapping
        if pkey is None:
            reject(
                rowno,
                mapping.prompt,
                "missing_prompt",
                f"no prompt column (looked for {', '.join(_PROMPT_KEYS)})",
            )
            return None
        if pkey not in obj:
            reject(rowno, pkey, "missing_column", f"column {pkey!r} is missing")
            return None
        value = obj[pkey]
        messages = system = None
        if type(value) is str:
            text = value
        elif isinstance(value, list) and pkey != "messages" and not all(isinstance(m, dict) for m in value):
            reject(
                rowno, pkey, "wrong_type", "expected text (or a list of {role, content} messages), got a list"
            )
            return None
        elif isinstance(value, list):
            problem = _check_messages(value)
            if problem:
                reject(rowno, pkey, "bad_messages", problem)
                return None
            messages = value
            system = next((m["content"] for m in value if m["role"] == "system"), None)
            text = value[-1]["content"]
        else:
            reject(rowno, pkey, "wrong_type", f"expected text, got {type(value).__name__}")
            return None
        if not text or text.isspace():
            reject(rowno, pkey, "empty_prompt", "the prompt is empty")
            return None
        if len(text) > self.max_chars:
            reject(
                rowno,
                pkey,
                "prompt_too_long",
                f"the prompt has {len(text)} characters; the limit is {self.max_chars} "
                "(DISTILLERY_MAX_PROMPT_CHARS)",
            )
            return None
        if "\x00" in text:
            reject(
                rowno, pkey, "nul_character", "the prompt contains a NUL character, which cannot be stored"
            )
            return None
        if mapping.system:
            sv = obj.get(mapping.system)
            if sv is not None and not isinstance(sv, str):
                reject(rowno, mapping.system, "wrong_type", f"expected text, got {type(sv).__name__}")
                return None
            if sv and "\x00" in sv:
                reject(rowno, mapping.system, "nul_character", "the system prompt contains a NUL character")
                return None
            system = sv or system
        reference = obj.get(rkey) if rkey else None
        worked = None
        if reference is not None:
            if type(reference) is not str:
                if not isinstance(reference, str | int | float) or isinstance(reference, bool):
                    reject(
                        rowno,
                        rkey,
                        "wrong_type",
                        f"expected text or a number, got {type(reference).__name__}",
                    )
                    return None
                reference = str(reference)
            elif "\x00" in reference:
                reject(rowno, rkey, "nul_character", "the reference contains a NUL character")
                return None
            reference, worked = split_reference(rkey, reference)
        meta = {k: obj[k] for k in keep if k in obj}
        if worked:
            meta.update(worked)
        if not layout.plain and not self._code_fields(rowno, obj, layout, meta, text):
            return None
        return ParsedPrompt(rowno, text, system, messages, reference, meta)

    def _code_fields(
        self, rowno: int, obj: dict[str, Any], layout: Layout, meta: dict[str, Any], text: str | None
    ) -> bool:
        """Put the row's tests (with its entry point folded in) and id into meta; False after rejecting
        the row. A check form whose prompt is Python code (HumanEval's signature and docstring, with its
        helpers such as poly) carries the prompt as `setup`: the tests call those helpers, never the
        answer's redefinitions of them."""
        entry = obj.get(layout.entry_point) if layout.entry_point else None
        if entry is not None and not isinstance(entry, str):
            got = type(entry).__name__
            self.report.reject(
                rowno, layout.entry_point, "wrong_type", f"expected a function name, got {got}"
            )
            return False
        if layout.tests:
            try:
                tests = parse_tests(obj.get(layout.tests), entry)
            except BadTests as exc:
                self.report.reject(rowno, layout.tests, "bad_tests", str(exc))
                return False
            if isinstance(tests, dict) and "check" in tests and text and _defines(text, tests["entry_point"]):
                tests = {**tests, "setup": text}
            if tests is not None:
                meta["tests"] = tests
        if entry and not (isinstance(meta.get("tests"), dict) and "check" in meta["tests"]):
            meta["entry_point"] = entry  # beside stdin/stdout or assert tests it is only metadata
        if layout.id and layout.id in obj:
            meta["id"] = obj[layout.id]
        return True


def _defines(text: str, name: str) -> bool:
    """Whether the prompt is Python code that defines the entry point (HumanEval's prompts are)."""
    if not re.search(rf"^[ \t]*def[ \t]+{re.escape(name)}[ \t]*\(", text, re.M):
        return False
    try:
        compile(text, "<prompt>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


HUB = "hub"  # not a file format: a spec file naming a dataset (backend/prompts/hub.py); never detected


def _records(path: Path, fmt: str, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's records, read by its format's reader; an empty file, or one with no rows, fails."""
    if path.is_file() and path.stat().st_size == 0:
        raise ImportFailed("empty_file", "the file is empty")
    yield from (hub.records if fmt == HUB else READERS[fmt])(path, report)
    if report.rows_read == 0:
        raise ImportFailed("empty_file", "the file has no rows")


def parse_batches(
    path: Path, fmt: str, mapping: ColumnMapping, report: Report, size: int
) -> Iterator[list[ParsedPrompt]]:
    """Every valid prompt in the file, in lists of up to `size`; rejected rows go into the report."""
    yield from RecordMapper(mapping, report).batches(_records(path, fmt, report), size)


def parse_columns(
    path: Path, fmt: str, mapping: ColumnMapping, report: Report, size: int
) -> Iterator[Columns]:
    """parse_batches, as Columns: no object per row."""
    yield from RecordMapper(mapping, report).columns(_records(path, fmt, report), size)
