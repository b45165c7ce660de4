"""Prompt import through the API: layouts recognised, every bad row named, atomic by default."""

from __future__ import annotations

import json

import pytest

from tests.support.prompts import import_prompts, write_jsonl


def _count_sets(client, h, pid) -> int:
    return len(client.get(f"/api/projects/{pid}/prompt-sets", headers=h).json())


def test_gsm8k_math_and_chat_layouts(client, importer, proj, tmp_path):
    h, pid = proj
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
            {"problem": "Compute $1+1$.", "solution": "It is $\\boxed{2}$.", "level": "Level 1"},
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]},
        ],
    )
    job = importer(h, pid, path, name="mixed")
    assert job["status"] == "succeeded", job
    assert job["progress_done"] == job["progress_total"] == 3
    assert job["result"]["report"] == {
        "rows_read": 3,
        "rows_stored": 3,
        "rows_rejected": 0,
        "errors": [],
        "reasons": {},
        "removed": {},
        "removed_examples": [],
    }
    ps = job["result"]["prompt_set"]
    items = client.get(f"/api/projects/{pid}/prompt-sets/{ps['id']}/prompts", headers=h).json()["items"]
    # the verifiers get the final answers; the worked text stays as metadata
    assert [i["reference"] for i in items] == ["7", "2", None]
    assert items[0]["meta"] == {"rationale": "3 + 4 = 7"}
    assert items[1]["meta"] == {"level": "Level 1", "solution": "It is $\\boxed{2}$."}
    assert items[2]["text"] == "Hi?" and items[2]["system"] == "Be brief." and len(items[2]["messages"]) == 2


def test_nul_in_metadata_is_stored_as_replacement_character(client, importer, proj, tmp_path):
    """jsonb cannot hold NUL; metadata keeps the row with U+FFFD instead (the prompt itself is refused)."""
    h, pid = proj
    rows = [{"prompt": "first", "source": "a\x00b", "tags": ["x\x00"]}, {"prompt": "second", "source": "c"}]
    job = importer(h, pid, write_jsonl(tmp_path / "p.jsonl", rows))
    assert job["status"] == "succeeded", job
    ps = job["result"]["prompt_set"]
    items = client.get(f"/api/projects/{pid}/prompt-sets/{ps['id']}/prompts", headers=h).json()["items"]
    assert [i["meta"] for i in items] == [{"source": "a\ufffdb", "tags": ["x\ufffd"]}, {"source": "c"}]


def test_text_with_copy_special_characters_round_trips(client, importer, proj, tmp_path):
    """Backslashes, newlines, tabs and carriage returns are escaped for COPY and come back unchanged."""
    h, pid = proj
    tricky = "a\\b\nc\td\re \\N \\\\n"
    rows = [
        {"prompt": "plain"},
        {"prompt": tricky, "answer": tricky, "note": tricky},
        {"messages": [{"role": "system", "content": tricky}, {"role": "user", "content": "u" + tricky}]},
    ]
    job = importer(h, pid, write_jsonl(tmp_path / "p.jsonl", rows))
    assert job["status"] == "succeeded", job
    ps = job["result"]["prompt_set"]
    items = client.get(f"/api/projects/{pid}/prompt-sets/{ps['id']}/prompts", headers=h).json()["items"]
    assert [i["text"] for i in items] == ["plain", tricky, "u" + tricky]
    assert items[1]["reference"] == tricky and items[1]["meta"] == {"note": tricky}
    assert items[2]["system"] == tricky and items[2]["messages"][0]["content"] == tricky


def test_versions_increase_per_name(importer, proj, tmp_path):
    h, pid = proj
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "x"}])
    v = [importer(h, pid, path, name="same")["result"]["prompt_set"]["version"] for _ in range(2)]
    assert v == [1, 2]


@pytest.mark.parametrize(
    ("content", "row", "field", "reason"),
    [
        (b'{"prompt": "ok"}\n{"prompt": "broken"\n', 2, None, "malformed_json"),
        (b'{"prompt": "ok"}\n{"prompt": "   "}\n', 2, "prompt", "empty_prompt"),
        (b'{"prompt": "ok"}\n{"prompt": 42}\n', 2, "prompt", "wrong_type"),
        (b'{"prompt": "ok"}\n{"text": "no prompt column"}\n', 2, None, "missing_prompt"),
        (b'{"prompt": "ok"}\n{"prompt": "caf\xe9"}\n', 2, None, "not_utf8"),
        (b'{"prompt": "ok"}\n[1, 2]\n', 2, None, "not_an_object"),
        (
            b'{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": [{"role": "bot"}]}\n',
            2,
            "messages",
            "bad_messages",
        ),
        (b'{"prompt": "ok"}\n{"prompt": "q", "answer": "4\\u0000"}\n', 2, "answer", "nul_character"),
        # a JSON number Python cannot read exactly: past the int-string limit, or past a double's range
        (b'{"prompt": "ok"}\n{"prompt": "q", "answer": ' + b"9" * 4301 + b"}\n", 2, None, "number_too_large"),
        (b'{"prompt": "ok"}\n{"prompt": "q", "answer": 1e999999}\n', 2, None, "number_too_large"),
        (
            b'{"prompt": "ok"}\n{"prompt": "q", "tests": "[{\\"input\\": \\"1\\", \\"output\\": 1e999}]"}\n',
            2,
            "tests",
            "bad_tests",
        ),
        (
            b'{"messages": [{"role": "user", "content": "hi"}]}\n'
            b'{"messages": [{"role": "system", "content": "a\\u0000"}, {"role": "user", "content": "b"}]}\n',
            2,
            "messages",
            "bad_messages",
        ),
    ],
)
def test_bad_row_names_row_field_reason_and_stores_nothing(
    client, importer, proj, tmp_path, content, row, field, reason
):
    h, pid = proj
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    job = importer(h, pid, path)
    assert job["status"] == "failed", job
    err = job["error"]
    assert err["code"] == "invalid_rows" and "nothing was stored" in err["message"]
    first = err["details"]["report"]["errors"][0]
    assert (first["row"], first["field"], first["reason"]) == (row, field, reason)
    assert err["details"]["report"]["reasons"] == {reason: 1}
    assert _count_sets(client, h, pid) == 0


def test_missing_mapped_column_is_reported(importer, proj, tmp_path):
    h, pid = proj
    path = write_jsonl(tmp_path / "p.jsonl", [{"q": "x"}])
    job = importer(h, pid, path, mapping=json.dumps({"prompt": "question"}))
    first = job["error"]["details"]["report"]["errors"][0]
    assert (job["status"], first["row"], first["field"], first["reason"]) == (
        "failed",
        1,
        "question",
        "missing_column",
    )


def test_skip_invalid_keeps_good_rows_and_the_report(importer, proj, tmp_path):
    h, pid = proj
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "a"}\n{"prompt": ""}\n{"prompt": "b"}\nnot json\n')
    job = importer(h, pid, path, skip_invalid=True)
    assert job["status"] == "succeeded", job
    rep = job["result"]["report"]
    assert rep["rows_stored"] == 2 and rep["rows_rejected"] == 2
    assert [(e["row"], e["reason"]) for e in rep["errors"]] == [(2, "empty_prompt"), (4, "malformed_json")]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.jsonl", b"", "empty_file"),
        ("blank.jsonl", b"\n\n", "empty_file"),
        ("binary.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
        ("dupes.csv", b"prompt,prompt\nx,y\n", "duplicate_header"),
        ("latin1.csv", b"prompt\ncaf\xe9\n", "not_utf8"),
        ("data.xlsx", b"PK\x03\x04", "unsupported_format"),
    ],
)
def test_unreadable_files_fail_the_job_and_store_nothing(
    client, importer, proj, tmp_path, name, content, code
):
    h, pid = proj
    path = tmp_path / name
    path.write_bytes(content)
    job = importer(h, pid, path)
    assert job["status"] == "failed" and job["error"]["code"] == code, job
    assert name in job["error"]["message"]
    assert _count_sets(client, h, pid) == 0


def test_csv_with_mapping(client, importer, proj, tmp_path):
    h, pid = proj
    path = tmp_path / "p.csv"
    path.write_text('id,q,gold\n1,"What is 2+2?",4\n2,"Name a prime",7\n')
    job = importer(h, pid, path, mapping=json.dumps({"prompt": "q", "reference": "gold"}))
    assert job["status"] == "succeeded", job
    items = client.get(
        f"/api/projects/{pid}/prompt-sets/{job['result']['prompt_set']['id']}/prompts", headers=h
    ).json()["items"]
    assert [(i["text"], i["reference"], i["meta"]) for i in items] == [
        ("What is 2+2?", "4", {"id": "1"}),
        ("Name a prime", "7", {"id": "2"}),
    ]


def test_file_over_the_limit_is_413_and_stores_nothing(client, proj, tmp_path, monkeypatch):
    from backend.core.config import get_settings

    h, pid = proj
    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)
    path = tmp_path / "big.jsonl"
    line = json.dumps({"prompt": "x" * 1000}) + "\n"
    path.write_text(line * 1100)
    r = import_prompts(client, h, pid, path)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert _count_sets(client, h, pid) == 0
    assert list(get_settings().uploads_dir.glob("*.upload")) == []


def test_bad_mapping_json_is_422(client, proj, tmp_path):
    h, pid = proj
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "x"}])
    r = import_prompts(client, h, pid, path, mapping="{not json")
    assert r.status_code == 422 and "body.mapping" in {f["path"] for f in r.json()["error"]["fields"]}
