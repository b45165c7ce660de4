"""Prompt import from Parquet and from datasets save_to_disk folders (as a folder, zip or tar)."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

from backend.prompts import readers
from backend.prompts.readers import READERS, detect_format
from backend.prompts.report import ImportFailed, Report
from tests.support.prompts import prompt_sets

GSM8K = [
    {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
    {"question": "Ann has 10 pens and gives 4 away. How many are left?", "answer": "10 - 4 = 6\n#### 6"},
    {"question": "What is 6 times 7?", "answer": "6 * 7 = 42\n#### 42"},
]
MORE = [
    {"question": "A train travels 60 km in 1.5 hours. What is its speed in km/h?", "answer": "#### 40"},
    {"question": "Sum the primes below 10.", "answer": "2 + 3 + 5 + 7 = 17\n#### 17"},
    {"question": "How many legs do 3 spiders have?", "answer": "3 * 8 = 24\n#### 24"},
]
CHAT_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def _items(client, h, pid, job) -> list[dict]:
    ps = job["result"]["prompt_set"]
    url = f"/api/projects/{pid}/prompt-sets/{ps['id']}/prompts?limit=500"
    return client.get(url, headers=h).json()["items"]


def _no_leftovers() -> None:
    """Nothing unpacked stays behind in the uploads folder, inside it or next to it."""
    from backend.core.config import get_settings

    uploads = get_settings().uploads_dir
    assert [p.name for p in uploads.iterdir() if p.name.endswith(".unpacked")] == []
    assert not (uploads / "evil").exists() and not (uploads.parent / "evil").exists()


def _features(table: pa.Table) -> dict:
    def feature(t: pa.DataType):
        if pa.types.is_list(t):
            return [feature(t.value_type)]
        if pa.types.is_struct(t):
            return {f.name: feature(f.type) for f in t}
        return {"dtype": "string" if pa.types.is_string(t) else str(t), "_type": "Value"}

    return {f.name: feature(f.type) for f in table.schema}


def write_save_to_disk(folder: Path, table: pa.Table, shards: int = 1) -> Path:
    """What datasets' Dataset.save_to_disk writes: Arrow IPC stream shards, state.json, dataset_info.json."""
    folder.mkdir(parents=True)
    features = _features(table)
    schema = table.schema.with_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    table = table.replace_schema_metadata(schema.metadata)
    per = -(-table.num_rows // shards)
    names = [f"data-{i:05d}-of-{shards:05d}.arrow" for i in range(shards)]
    for i, name in enumerate(names):
        with pa.OSFile(str(folder / name), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            # several small record batches per shard, as datasets' ArrowWriter writes them
            for batch in table.slice(i * per, per).to_batches(max_chunksize=2):
                writer.write_batch(batch)
    (folder / "dataset_info.json").write_text(
        json.dumps(
            {"citation": "", "description": "", "features": features, "homepage": "", "license": ""}, indent=2
        )
    )
    state = {
        "_data_files": [{"filename": n} for n in names],
        "_fingerprint": "0123456789abcdef",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": "train",
    }
    (folder / "state.json").write_text(json.dumps(state, indent=2))
    return folder


def zip_folder(folder: Path, dest: Path, *, top: bool = True) -> Path:
    """A zip of the folder; top=False puts its files at the archive's root instead of one folder down."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            rel = f.relative_to(folder.parent if top else folder)
            zf.write(f, rel.as_posix())
    return dest


def tar_folder(folder: Path, dest: Path, mode: str = "w:gz", *, top: bool = True) -> Path:
    with tarfile.open(dest, mode) as tf:
        tf.add(folder, arcname=folder.name if top else ".")
    return dest


# --- Parquet -------------------------------------------------------------------------------------


def test_parquet_gsm8k_layout(client, importer, proj, tmp_path):
    h, pid = proj
    path = tmp_path / "gsm8k-train.parquet"
    pq.write_table(pa.Table.from_pylist(GSM8K), path)
    job = importer(h, pid, path, name="gsm8k")
    assert job["status"] == "succeeded", job
    assert job["result"]["report"]["rows_read"] == job["result"]["report"]["rows_stored"] == 3
    items = _items(client, h, pid, job)
    assert [i["text"] for i in items] == [r["question"] for r in GSM8K]
    assert [i["reference"] for i in items] == ["7", "6", "42"]
    assert job["result"]["prompt_set"]["source"] == "gsm8k-train.parquet"


def test_parquet_chat_messages_column(client, importer, proj, tmp_path):
    h, pid = proj
    chats = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "3+3?"},
        ],
    ]
    table = pa.table({"messages": pa.array(chats, CHAT_TYPE), "source": ["geo", "math"]})
    path = tmp_path / "chat.parquet"
    pq.write_table(table, path)
    job = importer(h, pid, path, name="chat")
    assert job["status"] == "succeeded", job
    items = _items(client, h, pid, job)
    assert [(i["text"], i["system"], i["meta"]) for i in items] == [
        ("Capital of France?", "Be brief.", {"source": "geo"}),
        ("3+3?", None, {"source": "math"}),
    ]
    assert [i["messages"] for i in items] == chats


def _truncated_parquet(tmp_path: Path) -> bytes:
    pq.write_table(pa.Table.from_pylist(GSM8K), tmp_path / "whole.parquet")
    return (tmp_path / "whole.parquet").read_bytes()[:-20]


@pytest.mark.parametrize(
    "content",
    [
        lambda tmp: json.dumps({"question": "not parquet at all"}).encode() + b"\n",
        lambda tmp: b"PAR1" + b"\x00garbage in the middle\x00" * 4 + b"PAR1",
        _truncated_parquet,
    ],
    ids=["json-text", "bad-footer", "truncated"],
)
def test_fake_parquet_fails_with_not_parquet_and_stores_nothing(client, importer, proj, tmp_path, content):
    h, pid = proj
    path = tmp_path / "data.parquet"
    path.write_bytes(content(tmp_path))
    job = importer(h, pid, path)
    assert job["status"] == "failed" and job["error"]["code"] == "not_parquet", job
    assert "data.parquet" in job["error"]["message"] and "not a Parquet file" in job["error"]["message"]
    assert prompt_sets(client, h, pid) == []


def test_parquet_reader_streams_a_large_file_in_batches(tmp_path, monkeypatch):
    n = 200_000
    path = tmp_path / "big.parquet"
    table = pa.table({"id": pa.array(range(n), pa.int64()), "prompt": [f"prompt {i}" for i in range(n)]})
    pq.write_table(table, path, row_group_size=50_000)
    seen: list[int] = []  # the size of each batch the reader asked pyarrow for
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            seen.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    report = Report()
    count = 0
    for count, (rowno, rec) in enumerate(READERS["parquet"](path, report), start=1):
        assert rowno == count and rec["id"] == count - 1
    assert count == report.rows_read == n and rec == {"id": n - 1, "prompt": f"prompt {n - 1}"}
    assert len(seen) >= n // readers.PARQUET_BATCH_ROWS and max(seen) <= readers.PARQUET_BATCH_ROWS
    assert sum(seen) == n


def test_parquet_values_json_cannot_hold_come_out_as_text(tmp_path):
    import datetime as dt
    from decimal import Decimal

    table = pa.table(
        {
            "prompt": pa.array([b"binary prompt", b"x"], pa.binary()),
            "price": pa.array([Decimal("1.50"), None], pa.decimal128(5, 2)),
            "when": [dt.datetime(2024, 5, 1, 12, 30), None],
            "raw": [b"\xff\x00", None],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    rows = list(READERS["parquet"](tmp_path / "t.parquet", Report()))
    assert rows[0] == (
        1,
        {"prompt": "binary prompt", "price": "1.50", "when": "2024-05-01T12:30:00", "raw": "/wA="},
    )
    assert rows[1] == (2, {"prompt": "x", "price": None, "when": None, "raw": None})


# --- datasets save_to_disk folders and archives of them -----------------------------------------


def _gsm8k_dataset(tmp_path: Path, shards: int = 2) -> Path:
    return write_save_to_disk(tmp_path / "gsm8k", pa.Table.from_pylist(GSM8K + MORE), shards=shards)


def test_save_to_disk_folder_read_directly(tmp_path):
    folder = _gsm8k_dataset(tmp_path, shards=3)
    assert detect_format(folder, folder.name) == "hf_disk"
    report = Report()
    rows = list(READERS[detect_format(folder, folder.name)](folder, report))
    assert [n for n, _ in rows] == [1, 2, 3, 4, 5, 6] and report.rows_read == 6
    assert [r for _, r in rows] == GSM8K + MORE


@pytest.mark.parametrize(
    ("archive", "top"),
    [
        ("gsm8k.zip", True),
        ("gsm8k.zip", False),
        ("gsm8k.tar.gz", True),
        ("gsm8k.tgz", False),
        ("gsm8k.tar", True),
    ],
)
def test_archive_of_save_to_disk_folder_is_imported(client, importer, proj, tmp_path, archive, top):
    h, pid = proj
    folder = _gsm8k_dataset(tmp_path)
    dest = tmp_path / archive
    if archive.endswith(".zip"):
        zip_folder(folder, dest, top=top)
    else:
        tar_folder(folder, dest, "w" if archive.endswith(".tar") else "w:gz", top=top)
    job = importer(h, pid, dest, name="gsm8k")
    assert job["status"] == "succeeded", job
    assert job["result"]["report"]["rows_read"] == job["result"]["report"]["rows_stored"] == 6
    items = _items(client, h, pid, job)
    assert [i["text"] for i in items] == [r["question"] for r in GSM8K + MORE]
    assert [i["reference"] for i in items] == ["7", "6", "42", "40", "17", "24"]
    _no_leftovers()


def test_chat_dataset_in_a_tar_gz_keeps_nested_messages(client, importer, proj, tmp_path):
    h, pid = proj
    chats = [[{"role": "user", "content": r["question"]}] for r in GSM8K + MORE[:2]]
    table = pa.table({"messages": pa.array(chats, CHAT_TYPE), "id": list(range(5))})
    folder = write_save_to_disk(tmp_path / "chat", table)
    job = importer(h, pid, tar_folder(folder, tmp_path / "chat.tar.gz"), name="chat")
    assert job["status"] == "succeeded", job
    items = _items(client, h, pid, job)
    assert [(i["text"], i["messages"], i["meta"]) for i in items] == [
        (chats[i][0]["content"], chats[i], {"id": i}) for i in range(5)
    ]


def _zip_with(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16) | 0  # S_IFLNK
            zf.writestr(info, "/etc/passwd")
    return path


def _tar_with(path: Path, members: dict[str, bytes], link: tuple[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            tf.addfile(info)
    return path


def _dataset_members(tmp_path: Path, prefix: str = "") -> dict[str, bytes]:
    folder = _gsm8k_dataset(tmp_path, shards=1)
    return {prefix + f.name: f.read_bytes() for f in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp, ds: _zip_with(tmp / "evil.zip", {**ds, "../evil": b"owned"}),
        lambda tmp, ds: _tar_with(tmp / "evil.tar.gz", {**ds, "../evil": b"owned"}),
        lambda tmp, ds: _tar_with(tmp / "evil.tgz", {**ds, "data/../../evil": b"owned"}),
        lambda tmp, ds: _zip_with(tmp / "abs.zip", {**ds, "/tmp/evil": b"owned"}),
        lambda tmp, ds: _tar_with(tmp / "link.tar.gz", ds, link=("evil", "/etc/passwd")),
        lambda tmp, ds: _zip_with(tmp / "link.zip", ds, symlink="evil"),
    ],
    ids=["zip-dotdot", "tar-dotdot", "tar-nested-dotdot", "zip-absolute", "tar-symlink", "zip-symlink"],
)
def test_unsafe_archive_is_refused_and_stores_nothing(client, importer, proj, tmp_path, make):
    h, pid = proj
    path = make(tmp_path, _dataset_members(tmp_path))
    job = importer(h, pid, path)
    assert job["status"] == "failed" and job["error"]["code"] == "unsafe_archive", job
    assert path.name in job["error"]["message"] and "evil" in job["error"]["message"]
    assert prompt_sets(client, h, pid) == []
    _no_leftovers()


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda tmp, ds: _zip_with(tmp / "no-state.zip", {"data/train.jsonl": b'{"prompt": "x"}\n'}), None),
        (lambda tmp, ds: _tar_with(tmp / "no-state.tar.gz", {"readme.txt": b"hello"}), None),
        (
            lambda tmp, ds: _zip_with(
                tmp / "deep.zip", {f"outer/inner/{k}": v for k, v in ds.items()}
            ),  # two folders down
            None,
        ),
        (lambda tmp, ds: _zip_with(tmp / "bad-state.zip", {**ds, "state.json": b"{not json"}), None),
        (
            lambda tmp, ds: _zip_with(
                tmp / "missing-shard.zip", {k: v for k, v in ds.items() if not k.endswith(".arrow")}
            ),
            None,
        ),
        (
            lambda tmp, ds: _tar_with(tmp / "corrupt.tar", {**ds, "data-00000-of-00001.arrow": b"nope"}),
            "corrupt_dataset",
        ),
        (
            lambda tmp, ds: (tmp / "not-a.zip").write_bytes(b"plain text, no zip") and tmp / "not-a.zip",
            "bad_archive",
        ),
    ],
    ids=[
        "zip-no-state",
        "tar-no-state",
        "too-deep",
        "bad-state-json",
        "missing-shard",
        "corrupt-arrow",
        "not-zip",
    ],
)
def test_archive_that_is_not_a_dataset_fails_and_stores_nothing(client, importer, proj, tmp_path, make, code):
    h, pid = proj
    path = make(tmp_path, _dataset_members(tmp_path))
    job = importer(h, pid, path)
    assert job["status"] == "failed" and job["error"]["code"] == (code or "not_a_dataset"), job
    assert path.name in job["error"]["message"]
    assert prompt_sets(client, h, pid) == []
    _no_leftovers()


def test_datasetdict_archive_says_to_send_one_split(tmp_path):
    ds = _dataset_members(tmp_path)
    members = {f"gsm8k/{split}/{k}": v for split in ("train", "test") for k, v in ds.items()}
    members["gsm8k/dataset_dict.json"] = json.dumps({"splits": ["train", "test"]}).encode()
    path = _zip_with(tmp_path / "dict.zip", members)
    with pytest.raises(ImportFailed) as err:
        list(READERS[detect_format(path, path.name)](path, Report()))
    assert err.value.reason == "not_a_dataset" and "DatasetDict" in err.value.message
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".unpacked")) == []


def test_archive_over_the_unpacked_size_cap_is_refused(tmp_path, monkeypatch):
    from backend.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)  # cap: 4 MiB unpacked
    members = {**_dataset_members(tmp_path), "padding.bin": b"\x00" * (5 << 20)}
    for path in (_zip_with(tmp_path / "bomb.zip", members), _tar_with(tmp_path / "bomb.tar.gz", members)):
        assert path.stat().st_size < 1 << 20
        with pytest.raises(ImportFailed) as err:
            list(READERS[detect_format(path, path.name)](path, Report()))
        assert err.value.reason == "archive_too_large", err.value.message
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".unpacked")] == []


def test_unpacked_folder_is_removed_when_reading_stops_early(tmp_path):
    path = zip_folder(_gsm8k_dataset(tmp_path), tmp_path / "ds.zip")
    rows = READERS["zip"](path, Report())
    assert next(rows)[0] == 1
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".unpacked")]) == 1
    rows.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".unpacked")] == []


def test_unsupported_format_lists_the_accepted_ones(tmp_path):
    with pytest.raises(ImportFailed) as err:
        detect_format(tmp_path / "data.xlsx", "data.xlsx")
    assert err.value.reason == "unsupported_format"
    for fmt in (".jsonl", ".csv", ".parquet", ".zip", ".tar.gz", "save_to_disk"):
        assert fmt in err.value.message


def test_folder_without_state_json_is_not_a_dataset(tmp_path):
    with pytest.raises(ImportFailed) as err:
        detect_format(tmp_path, "somewhere")
    assert err.value.reason == "not_a_dataset"


def test_folder_written_by_the_real_datasets_package(tmp_path):
    datasets = pytest.importorskip(
        "datasets", reason="the datasets package is not installed; the hand-written layout is tested above"
    )
    chats = [[{"role": "user", "content": f"Q{i}?"}] for i in range(4)]
    ds = datasets.Dataset.from_dict(
        {"question": [r["question"] for r in GSM8K] + ["x"], "answer": [r["answer"] for r in GSM8K] + ["y"]}
    )
    ds.save_to_disk(str(tmp_path / "real"), num_shards=2)
    folder = tmp_path / "real"
    rows = list(READERS[detect_format(folder, folder.name)](folder, Report()))
    assert [r["question"] for _, r in rows] == [r["question"] for r in GSM8K] + ["x"]
    chat = datasets.Dataset.from_dict({"messages": chats})
    chat.save_to_disk(str(tmp_path / "chat"))
    rows = list(READERS["hf_disk"](tmp_path / "chat", Report()))
    assert [r["messages"] for _, r in rows] == chats


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "bom.jsonl",
            b'\xef\xbb\xbf{"question": "one?", "answer": "1"}\n{"question": "two?", "answer": "2"}\n',
        ),
        # Excel's "CSV UTF-8": a byte order mark, CRLF line ends
        ("excel.csv", b'\xef\xbb\xbfquestion,answer\r\n"one?",1\r\n"two?",2\r\n'),
    ],
)
def test_utf8_files_with_a_byte_order_mark_import(client, importer, proj, tmp_path, name, content):
    h, pid = proj
    path = tmp_path / name
    path.write_bytes(content)
    job = importer(h, pid, path)
    assert job["status"] == "succeeded", job
    ps = job["result"]["prompt_set"]
    items = client.get(f"/api/projects/{pid}/prompt-sets/{ps['id']}/prompts", headers=h).json()["items"]
    assert [(i["text"], i["reference"], i["meta"]) for i in items] == [("one?", "1", {}), ("two?", "2", {})]
