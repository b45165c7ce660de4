"""The import pipeline at more than one batch: earlier batches have already gone into the COPY when a
later one fails, and a failure at any point must still leave nothing stored.

Every import test here runs twice: in one process, and with a parse process (what files from
DISTILLERY_PARSE_PROCESS_MIN_MB up get on PostgreSQL; the threshold is 0 for the test)."""

from __future__ import annotations

import gc
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.projects.models import Project
from backend.projects.service import create_project
from backend.prompts import pipeline
from backend.prompts.models import Prompt, PromptSet
from backend.prompts.service import CLEAN_BATCH, import_prompt_set
from backend.users.service import create_user
from tests.support.env import unique

ROWS = 3 * CLEAN_BATCH + 123  # several batches in flight


@pytest.fixture(params=["one_process", "parse_process"])
def mode(request, monkeypatch) -> str:
    from backend.prompts import service

    if request.param == "parse_process":
        monkeypatch.setattr(service, "_parse_process_min_bytes", lambda: 0)
    return request.param


def _new_project() -> int:
    with session_scope() as s:
        user = create_user(s, email=f"{unique('pipe')}@example.com", password="pipeline-password")
        return create_project(s, owner=user, name=unique("pipeline")).id


@pytest.fixture
def project_id(mode) -> int:
    return _new_project()


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _rows(n: int = ROWS) -> list[bytes]:
    # Every 10th row repeats row 0's text in other case and spacing: an exact duplicate across batches.
    return [
        orjson.dumps({"prompt": "  WHAT is 0 plus one?" if i % 10 == 0 and i else f"What is {i} plus one?"})
        for i in range(n)
    ]


def _import(project_id: int, path: Path, **kw):
    with session_scope() as s:
        pset, report = import_prompt_set(
            s, project=s.get(Project, project_id), user=None, name="p", path=path, filename=path.name, **kw
        )
        return pset.id, report


def _stored(project_id: int) -> tuple[int, int]:
    with session_scope() as s:
        sets = s.scalar(select(func.count()).select_from(PromptSet).where(PromptSet.project_id == project_id))
        prompts = s.scalar(
            select(func.count())
            .select_from(Prompt)
            .join(PromptSet, PromptSet.id == Prompt.prompt_set_id)
            .where(PromptSet.project_id == project_id)
        )
        return sets, prompts


def test_many_batches_keep_order_and_first_seen_duplicates(project_id, tmp_path):
    set_id, report = _import(project_id, _write(tmp_path / "ok.jsonl", _rows()))
    dups = (ROWS - 1) // 10
    assert (report.rows_read, report.rows_stored, report.removed) == (
        ROWS,
        ROWS - dups,
        {"exact_duplicate": dups},
    )
    with session_scope() as s:
        positions = s.scalars(
            select(Prompt.position).where(Prompt.prompt_set_id == set_id).order_by(Prompt.position)
        ).all()
    assert positions == [i + 1 for i in range(ROWS) if i == 0 or i % 10]  # line numbers, first seen kept
    assert all(e.matched == 1 for e in report.removed_examples)
    assert {(e.text, e.matched_text) for e in report.removed_examples} == {
        ("  WHAT is 0 plus one?", "What is 0 plus one?")
    }


def test_removed_examples_show_the_texts_as_written(project_id, tmp_path):
    """In the parse-process path the texts of removed rows are read back out of their COPY lines."""
    first, again = "Tab\there, a\\backslash\nand a newline", "TAB\there,  A\\BACKSLASH\nAND A NEWLINE"
    lines = [orjson.dumps({"prompt": t}) for t in (first, "other", again)]
    _, report = _import(project_id, _write(tmp_path / "esc.jsonl", lines))
    assert [(e.row, e.text, e.matched, e.matched_text) for e in report.removed_examples] == [
        (3, again, 1, first)
    ]


def test_a_bad_row_in_a_late_batch_stores_nothing(project_id, tmp_path):
    lines = _rows()
    lines[ROWS - 50] = b'{"prompt": "unterminated'
    with pytest.raises(Invalid) as err:
        _import(project_id, _write(tmp_path / "bad.jsonl", lines))
    first = err.value.details["report"]["errors"][0]
    assert (first["row"], first["reason"]) == (ROWS - 49, "malformed_json")
    assert _stored(project_id) == (0, 0)


def test_binary_data_after_batches_were_written_stores_nothing(project_id, tmp_path):
    lines = _rows()
    lines[2 * CLEAN_BATCH + 7] = b'{"prompt": "x\x00\x01\x02"}'
    with pytest.raises(Invalid) as err:
        _import(project_id, _write(tmp_path / "bin.jsonl", lines))
    assert err.value.code == "binary_file" and f"line {2 * CLEAN_BATCH + 8}" in str(err.value)
    assert _stored(project_id) == (0, 0)


def test_skip_invalid_across_batches(project_id, tmp_path):
    lines = _rows()
    bad = [7, CLEAN_BATCH + 3, ROWS - 1]
    for i in bad:
        lines[i] = b'{"prompt": ""}'
    _, report = _import(project_id, _write(tmp_path / "skip.jsonl", lines), skip_invalid=True)
    dups = sum(1 for i in range(1, ROWS) if i % 10 == 0 and i not in bad)
    assert report.rejected == 3 and [e.row for e in report.errors] == [i + 1 for i in bad]
    assert report.rows_stored == ROWS - 3 - dups
    assert _stored(project_id) == (1, ROWS - 3 - dups)


def test_a_failure_while_cleaning_a_later_batch_stores_nothing(project_id, tmp_path, monkeypatch):
    real, calls = pipeline.Cleaner.select, []

    def failing(self, rows):
        calls.append(rows.n)
        if len(calls) == 2:
            raise RuntimeError("cleaning blew up")
        return real(self, rows)

    monkeypatch.setattr(pipeline.Cleaner, "select", failing)
    with pytest.raises(RuntimeError, match="cleaning blew up"):
        _import(project_id, _write(tmp_path / "boom.jsonl", _rows()))
    assert calls == [CLEAN_BATCH, CLEAN_BATCH]
    assert _stored(project_id) == (0, 0)
    assert gc.isenabled()  # the import pauses the garbage collector and must turn it back on


def test_the_inline_mapping_of_common_rows_matches_the_full_check():
    """RecordMapper.batches maps common rows inline; each row must come out as __call__ makes it."""
    from backend.prompts.importer import RecordMapper
    from backend.prompts.report import Report
    from backend.prompts.schemas import ColumnMapping

    records = [
        {"question": "q1", "answer": "work\n#### 42", "id": 1},
        {"question": "q2", "answer": "####   "},
        {"question": "q3", "answer": 7},
        {"question": "q4", "answer": None, "tags": ["a"]},
        {"question": "  "},
        {"question": "nul\x00"},
        {"question": "q5", "answer": "a\x00"},
        {"question": ["not", "text"]},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]},
        {"problem": "p", "solution": "\\boxed{1}", "level": 3},
        {"question": "q6", "answer": "x #### 1 #### 2"},
    ] * 3  # the second and third rounds meet layouts already worked out
    rows = list(enumerate(records, start=1))

    def dump(p):
        return None if p is None else (p.position, p.text, p.system, p.messages, p.reference, p.meta)

    for mapping in (ColumnMapping(), ColumnMapping(system="sys"), ColumnMapping(metadata=["id"])):
        full_report, fast_report = Report(), Report()
        full = [dump(p) for p in (RecordMapper(mapping, full_report)(r, o) for r, o in rows) if p is not None]
        fast = [dump(p) for b in RecordMapper(mapping, fast_report).batches(iter(rows), 4) for p in b]
        assert fast == full and len(full) == 21
        assert fast_report.errors == full_report.errors and fast_report.reasons == full_report.reasons


def test_the_parse_process_reads_exactly_what_the_import_process_would(tmp_path):
    """The parse process reads with parse_columns, the one-process import with parse_batches: on a file
    with every kind of bad line they must keep and report the same rows."""
    from backend.prompts.importer import parse_batches, parse_columns
    from backend.prompts.report import Report
    from backend.prompts.schemas import ColumnMapping

    lines = [
        b'{"question": "q1", "answer": "#### 1", "id": 1}',
        b"",
        b"   ",
        b'{"question": "q2"',
        b"[1, 2]",
        b'{"question": "caf\xe9"}',
        b'{"question": "  "}',
        b'{"messages": [{"role": "user", "content": "hi"}]}',
        b'{"question": NaN}',
        b'{"prompt": "p", "answer": 3.5}',
        b'{"question": "last", "answer": "x"}',
    ]
    path = _write(tmp_path / "mixed.jsonl", lines * 3)

    def dump(p):
        return (p.position, p.text, p.system, p.messages, p.reference, p.meta)

    for size in (1, 4, 1000):
        fused_report, generic_report = Report(), Report()
        fused = [
            (c.positions[i], c.texts[i], c.systems[i], c.messages[i], c.references[i], c.metas[i])
            for c in parse_columns(path, "jsonl", ColumnMapping(), fused_report, size)
            for i in range(len(c))
        ]
        generic = [
            dump(p) for b in parse_batches(path, "jsonl", ColumnMapping(), generic_report, size) for p in b
        ]
        assert fused == generic and len(fused) == 12
        assert fused_report == generic_report and fused_report.rows_read == 27


def test_a_parse_process_that_dies_fails_the_import_and_stores_nothing(tmp_path, monkeypatch):
    from backend.prompts import parse_process, service

    monkeypatch.setattr(service, "_parse_process_min_bytes", lambda: 0)
    project_id = _new_project()

    real = parse_process.ParseProcess.batches

    def dying(self):
        for i, batch in enumerate(real(self)):
            if i == 0:
                self._proc.kill()  # what the OOM killer would do
            yield batch

    monkeypatch.setattr(parse_process.ParseProcess, "batches", dying)
    # More batches than the receiving thread takes ahead, so the kill lands while the child still writes.
    with pytest.raises(RuntimeError, match="parse process ended unexpectedly"):
        _import(project_id, _write(tmp_path / "dies.jsonl", _rows(10 * CLEAN_BATCH)))
    assert _stored(project_id) == (0, 0)


def test_a_prompt_over_the_length_limit_is_a_row_error(tmp_path, monkeypatch):
    """Past DISTILLERY_MAX_PROMPT_CHARS a row is refused with its reason, on both mapping paths."""
    from backend.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_prompt_chars", 1000)
    rows = [{"prompt": "fine"}, {"prompt": "A" * 1001}, {"question": "B" * 1001, "answer": "x"}]
    path = _write(tmp_path / "long.jsonl", [orjson.dumps(r) for r in rows])
    _, report = _import(_new_project(), path, skip_invalid=True)
    assert report.rows_stored == 1 and dict(report.reasons) == {"prompt_too_long": 2}
    assert [(e.row, e.field) for e in report.errors] == [(2, "prompt"), (3, "question")]
    assert "DISTILLERY_MAX_PROMPT_CHARS" in report.errors[0].message


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_bad_rows_number_and_every_prompts_position_are_the_files_own_lines(fmt, tmp_path):
    """Line numbers as an editor shows them: a CSV's header is line 1 and a quoted field spanning two
    lines moves the records after it down; the bad row's line is the report's row, and each stored
    prompt's position (the preview's "line") is the line its record starts on."""
    if fmt == "jsonl":
        body = b'{"prompt": "one"}\n{"prompt": "two\\nlines"}\n{"prompt": ""}\n{"prompt": "four"}\n'
        good, bad = [1, 2, 4], 3
    else:
        body = b'prompt,reference\none,1\n"two\nlines",2\n,3\nfour,4\nfive\n'
        good, bad = [2, 3, 6], 5  # line 5 is the empty prompt; line 7 has one column too few
    path = tmp_path / f"lines.{fmt}"
    path.write_bytes(body)
    pset, report = _import(_new_project(), path, skip_invalid=True)
    rows = [(e.row, e.reason) for e in report.errors]
    assert rows[0] == (bad, "empty_prompt"), rows
    if fmt == "csv":
        assert rows[1:] == [(7, "wrong_column_count")], rows
    with session_scope() as s:
        stored = select(Prompt.position).where(Prompt.prompt_set_id == pset).order_by(Prompt.position)
        assert list(s.scalars(stored)) == good
