"""Format readers: each yields (row number, record dict) and reports unreadable rows.

Row numbers are what a user sees in an editor: 1-based lines for JSONL and CSV (a CSV record's first
line: the header is line 1, so the first data row is line 2, and a quoted field spanning lines moves
the next record down), 1-based rows for Parquet and Arrow (counted on across the shards of a
`datasets` save_to_disk folder). A prompt's `position` is this number.

Parquet and Arrow are read a record batch at a time, so memory stays flat however large the file.

Any of JSONL, CSV and Parquet may come gzip-compressed (`.jsonl.gz`, as HumanEval ships): the gzip magic
bytes decide, whatever the name says, and the name without `.gz` says what is inside. The data is
decompressed next to the upload before a row is read, so a truncated or corrupt file fails before
anything is parsed, and the decompressed size is capped (ARCHIVE_EXPANSION times the upload limit) so
that a small gzip bomb cannot fill the disk.
Values JSON cannot hold (binary, decimals, dates and times, durations) come out as text or numbers so
that they can be kept in a prompt's metadata.

One concern, an upload into records, kept in one module though it passes 450 lines: the unpacking half
(zip, tar, gzip, under one expansion budget) exists only to hand a format reader its file, and READERS,
the one table the importer reads, maps every upload form to the reader and unpacking it takes. If a
new form is added, the unpacking half is what moves out.
"""

from __future__ import annotations

import base64
import codecs
import csv
import gzip
import json
import lzma
import math
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from backend.core.config import get_settings
from backend.prompts.report import ImportFailed, Report

Records = Iterator[tuple[int, dict[str, Any]]]

ACCEPTED = (
    "JSON Lines (.jsonl, .ndjson, .json), CSV (.csv), Parquet (.parquet), each optionally gzip-compressed "
    "(.jsonl.gz, .csv.gz, ...), or a datasets save_to_disk folder (the folder itself, or a .zip, .tar, "
    ".tar.gz or .tgz of it)"
)
PARQUET_BATCH_ROWS = 10_000  # rows per record batch: memory is bounded by this, not by the file size
ARCHIVE_EXPANSION = 4  # an archive may unpack to at most this many times the upload limit
ARCHIVE_MAX_MEMBERS = 10_000
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_GZIP_SUFFIXES = (".gz", ".gzip")
_GZIP_MAGIC = b"\x1f\x8b"
_COPY_CHUNK = 1 << 20


def _plain_format(name: str) -> str | None:
    """The format of an uncompressed file, from its (lower-case) name."""
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    return None


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == _GZIP_MAGIC
    except OSError:
        return False


def detect_format(path: Path, filename: str) -> str:
    """The format (a key of READERS), from the file name and, for gzip, its first bytes; a folder is a
    datasets save_to_disk folder."""
    if path.is_dir():
        if (path / "state.json").is_file():
            return "hf_disk"
        raise ImportFailed("not_a_dataset", _no_dataset_message(path, f"the folder {filename!r}"))
    name = filename.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"  # tarfile reads the compression itself
    inner = name.removesuffix(".gz").removesuffix(".gzip") if name.endswith(_GZIP_SUFFIXES) else name
    fmt = _plain_format(inner)
    if _is_gzip(path):
        # The bytes decide: a `.jsonl` that is gzip data is read as gzip, and a name without an inner
        # extension (`data.gz`) has its format told from the decompressed start.
        return f"{fmt}.gz" if fmt else "gz"
    if fmt:
        # Named .gz but not gzip data: a browser or proxy may have decompressed it on the way.
        return fmt
    raise ImportFailed("unsupported_format", f"cannot tell the format of {filename!r}; use {ACCEPTED}")


def _records_jsonl(path: Path, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    loads = orjson.loads
    with path.open("rb") as fh:
        if fh.read(3) != codecs.BOM_UTF8:  # Windows tools start UTF-8 files with a byte order mark
            fh.seek(0)
        for lineno, raw in enumerate(fh, start=1):
            if b"\x00" in raw:
                raise ImportFailed("binary_file", f"line {lineno}: binary data, not JSON Lines", lineno)
            report.rows_read += 1
            try:
                obj = loads(raw)  # the fast path: orjson parses (and checks UTF-8 of) the bytes directly
            except orjson.JSONDecodeError:
                obj = _explain_bad_line(raw, lineno, report)
                if obj is None:
                    continue
            if type(obj) is not dict:
                report.reject(
                    lineno, None, "not_an_object", f"expected a JSON object, got {type(obj).__name__}"
                )
                continue
            yield lineno, obj


def _explain_bad_line(raw: bytes, lineno: int, report: Report) -> Any | None:
    """A line orjson refused: blank, not UTF-8, or malformed; report it with the stdlib's clearer message."""
    if not raw.strip():
        report.rows_read -= 1  # blank lines are not rows
        return None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.reject(lineno, None, "not_utf8", f"bytes at offset {exc.start} are not UTF-8")
        return None
    try:
        # orjson is stricter about a few things (e.g. NaN); accept what json does, but not a number it
        # would misread (orjson refuses those too)
        return json.loads(line, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        report.reject(lineno, None, "malformed_json", f"malformed JSON: {exc.msg} at column {exc.colno}")
    except _NumberTooLarge as exc:
        report.reject(lineno, None, "number_too_large", str(exc))
    except ValueError as exc:  # int() past the int-string limit (4,300 digits)
        if "digits" not in str(exc):
            raise
        report.reject(
            lineno, None, "number_too_large",
            "a number of more than 4,300 digits, which cannot be read exactly; write it as a string",
        )  # fmt: skip
    except RecursionError:
        report.reject(lineno, None, "malformed_json", "JSON nested too deeply")
    return None


class _NumberTooLarge(ValueError):
    pass


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NumberTooLarge(f"the number {literal[:40]} is past a double's range; write it as a string")
    return value


def _records_csv(path: Path, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        head = fh.read(8192)
    if b"\x00" in head:
        raise ImportFailed("binary_file", "binary data, not CSV", 1)
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte order mark, which would join the first header
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return
            dupes = [h for h, n in Counter(header).items() if n > 1]
            if dupes:
                raise ImportFailed("duplicate_header", f"duplicate CSV header(s): {', '.join(dupes)}", 1)
            start = reader.line_num + 1  # the line the next record starts on
            for values in reader:
                rowno, start = start, reader.line_num + 1
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


# --- Arrow: Parquet files and datasets save_to_disk folders ---------------------------------------


def _awkward(t: pa.DataType) -> bool:
    """Whether values of this type must be converted before they can be stored as JSON."""
    if pa.types.is_dictionary(t):
        return _awkward(t.value_type)
    if isinstance(t, pa.BaseExtensionType):
        return _awkward(t.storage_type)
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
        or pa.types.is_interval(t)
    ):
        return True
    return any(_awkward(t.field(i).type) for i in range(t.num_fields))


def _plain(v: Any) -> Any:
    """v as JSON can hold it: bytes as UTF-8 text (base64 if they are not text), dates and times as
    ISO 8601, durations in seconds, decimals as text, map entries as [key, value] lists."""
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(v).decode("ascii")
    if isinstance(v, timedelta):
        return v.total_seconds()
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    return str(v)  # Decimal, MonthDayNano, anything else


def _guard(batches: Iterable[pa.RecordBatch], report: Report, reason: str, what: str):
    """The batches, with an Arrow or I/O error turned into ImportFailed(reason)."""
    it = iter(batches)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            row = report.rows_read + 1
            raise ImportFailed(reason, f"{what} (at row {row}): {exc}", row) from exc
        yield batch


def arrow_records(batches: Iterable[pa.RecordBatch], report: Report) -> Records:
    """The records of each batch as dicts (nested lists and structs as lists and dicts), numbered from 1."""
    for batch in batches:
        names = batch.schema.names
        dupes = [n for n, k in Counter(names).items() if k > 1]
        if dupes:
            raise ImportFailed("duplicate_column", f"duplicate column(s): {', '.join(dupes)}")
        awkward = [f.name for f in batch.schema if _awkward(f.type)]
        for rec in batch.to_pylist():
            report.rows_read += 1
            for name in awkward:
                rec[name] = _plain(rec[name])
            yield report.rows_read, rec


def _records_parquet(path: Path, report: Report) -> Records:
    with path.open("rb") as fh:
        head = fh.read(4)
        size = fh.seek(0, 2)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise ImportFailed("not_parquet", "not a Parquet file (it does not begin and end with PAR1)")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFailed("not_parquet", f"not a Parquet file: {exc}") from exc
    with pf:
        batches = pf.iter_batches(batch_size=PARQUET_BATCH_ROWS)
        yield from arrow_records(
            _guard(batches, report, "not_parquet", "not a readable Parquet file"), report
        )


def _subdirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "__MACOSX")


def _no_dataset_message(root: Path, what: str) -> str:
    hint = "send the folder Dataset.save_to_disk wrote (it holds state.json), or a .zip or .tar of it"
    if any((d / "dataset_dict.json").is_file() for d in [root, *_subdirs(root)]):
        hint = "it holds a DatasetDict: send one split's folder (e.g. train/), which holds state.json"
    return f"{what} has no state.json, so it is not a datasets save_to_disk folder; {hint}"


def _data_files(folder: Path) -> list[Path]:
    """The Arrow shards that state.json lists, in order; each must be a file in the folder."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFailed("not_a_dataset", f"state.json cannot be read: {exc}") from exc
    entries = state.get("_data_files") if isinstance(state, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("filename"), str) for e in entries
    ):
        raise ImportFailed("not_a_dataset", "state.json has no _data_files list of {filename: ...} entries")
    files = []
    for e in entries:
        name = e["filename"]
        if name in ("", ".", "..") or PurePosixPath(name).name != name or "\\" in name:
            raise ImportFailed(
                "not_a_dataset", f"state.json names {name!r}, which is not a file of the folder"
            )
        f = folder / name
        if not f.is_file():
            raise ImportFailed("not_a_dataset", f"state.json lists {name!r}, which is missing")
        files.append(f)
    return files


def _ipc_batches(source: pa.NativeFile) -> Iterator[pa.RecordBatch]:
    """The batches of an Arrow IPC stream (what save_to_disk writes) or of an IPC file."""
    magic = source.read(6)
    source.seek(0)
    if magic == b"ARROW1":
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    else:
        yield from pa.ipc.open_stream(source)


def _shard_batches(files: list[Path], report: Report) -> Iterator[pa.RecordBatch]:
    for f in files:
        with pa.OSFile(str(f), "rb") as source:
            yield from _guard(
                _ipc_batches(source), report, "corrupt_dataset", f"{f.name} is not readable Arrow data"
            )


def _records_hf_disk(path: Path, report: Report) -> Records:
    """A folder written by datasets' Dataset.save_to_disk, read without the datasets package."""
    yield from arrow_records(_shard_batches(_data_files(path), report), report)


# --- Archives of a save_to_disk folder -----------------------------------------------------------


def _member_parts(name: str) -> tuple[str, ...]:
    """The path of an archive member as parts under the extraction folder, or unsafe_archive."""
    norm = name.replace("\\", "/")
    parts = tuple(p for p in norm.split("/") if p not in ("", "."))
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in parts or "\x00" in norm:
        raise ImportFailed("unsafe_archive", f"the archive member {name!r} points outside the archive")
    return parts


class _Budget:
    """Caps what an archive may unpack to: total bytes and number of members."""

    def __init__(self) -> None:
        self.mb = ARCHIVE_EXPANSION * get_settings().max_upload_mb
        self.left = self.mb << 20
        self.members = 0

    def member(self) -> None:
        self.members += 1
        if self.members > ARCHIVE_MAX_MEMBERS:
            raise ImportFailed("archive_too_large", f"the archive has over {ARCHIVE_MAX_MEMBERS} members")

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ImportFailed("archive_too_large", f"the archive unpacks to over {self.mb} MiB")


def _write_member(src: IO[bytes], dest: Path, budget: _Budget) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            budget.spend(len(chunk))
            out.write(chunk)


def _extract_zip(path: Path, dest: Path) -> None:
    budget = _Budget()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for info in infos:  # check every name first: a bad archive writes nothing
            budget.member()
            _member_parts(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ImportFailed(
                    "unsafe_archive", f"the archive member {info.filename!r} is a symbolic link"
                )
        for info in infos:
            parts = _member_parts(info.filename)
            if not parts:
                continue
            if info.is_dir():
                dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as src:
                _write_member(src, dest.joinpath(*parts), budget)


def _extract_tar(path: Path, dest: Path) -> None:
    budget = _Budget()
    with tarfile.open(path, "r:*") as tf:
        for m in tf:  # headers are read in order, so a .tar.gz is read once, front to back
            budget.member()
            parts = _member_parts(m.name)
            if m.issym() or m.islnk():
                raise ImportFailed("unsafe_archive", f"the archive member {m.name!r} is a link")
            if m.isdir():
                if parts:
                    dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                continue
            if not m.isfile():
                raise ImportFailed("unsafe_archive", f"the archive member {m.name!r} is not a file or folder")
            if not parts:
                continue
            src = tf.extractfile(m)
            if src is not None:
                with src:
                    _write_member(src, dest.joinpath(*parts), budget)


def _dataset_root(root: Path) -> Path:
    """The save_to_disk folder in an unpacked archive: the archive's top, or one folder down."""
    if (root / "state.json").is_file():
        return root
    found = [d for d in _subdirs(root) if (d / "state.json").is_file()]
    if len(found) > 1:
        names = ", ".join(d.name for d in found)
        raise ImportFailed(
            "ambiguous_dataset", f"the archive holds several datasets ({names}); send one folder per import"
        )
    if not found:
        raise ImportFailed("not_a_dataset", _no_dataset_message(root, "the archive"))
    return found[0]


_UNPACK_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    OSError,
)


def _unpacked(extract: Callable[[Path, Path], None]) -> Callable[[Path, Report], Records]:
    """A reader that unpacks the archive next to it, reads the save_to_disk folder in it, and removes
    what it unpacked when the rows are read, or when reading stops early (the generator is closed)."""

    def records(path: Path, report: Report) -> Records:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".unpacked", dir=path.parent))
        except OSError:
            tmp = Path(tempfile.mkdtemp(prefix="distillery-", suffix=".unpacked"))
        try:
            try:
                extract(path, tmp)
            except _UNPACK_ERRORS as exc:  # RuntimeError: an encrypted zip member
                raise ImportFailed("bad_archive", f"the archive cannot be unpacked: {exc}") from exc
            yield from _records_hf_disk(_dataset_root(tmp), report)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return records


# --- gzip-compressed JSONL, CSV and Parquet ------------------------------------------------------


def _gunzip(path: Path, dest: Path) -> None:
    """Decompress path into dest, at most the archive budget; a bad stream is bad_gzip, a bomb
    gzip_too_large, both before any row is read."""
    budget = _Budget()
    try:
        with gzip.open(path, "rb") as src, dest.open("wb") as out:
            while chunk := src.read(_COPY_CHUNK):
                budget.left -= len(chunk)
                if budget.left < 0:
                    raise ImportFailed(
                        "gzip_too_large",
                        f"the gzip data decompresses to over {budget.mb} MiB ({ARCHIVE_EXPANSION} times "
                        "DISTILLERY_MAX_UPLOAD_MB), so it was not read; nothing was stored",
                    )
                out.write(chunk)
    except EOFError as exc:
        raise ImportFailed(
            "bad_gzip",
            "the gzip data is truncated (it ends before its end-of-stream marker: an incomplete download "
            "or copy?); nothing was stored",
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFailed("bad_gzip", f"the gzip data is corrupt ({exc}); nothing was stored") from exc


def _sniff(path: Path) -> str:
    """The format of decompressed data whose name did not say: JSONL starts with `{`, Parquet with PAR1."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{"):
        return "jsonl"
    raise ImportFailed(
        "unsupported_format",
        "cannot tell what the gzip file holds; name it .jsonl.gz, .csv.gz or .parquet.gz",
    )


def _gunzipped(inner: str | None) -> Callable[[Path, Report], Records]:
    """A reader that decompresses the file next to it (a file, so the janitor's sweep of uploads removes
    what a killed worker left), reads it with the inner format's reader (told from the data when None),
    and removes it when the rows are read or reading stops early."""

    def records(path: Path, report: Report) -> Records:
        try:
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gunzipped", dir=path.parent)
        except OSError:  # a read-only folder (the CLI reads files where they are)
            fd, name = tempfile.mkstemp(prefix="distillery-", suffix=".gunzipped")
        os.close(fd)
        tmp = Path(name)
        try:
            _gunzip(path, tmp)
            yield from READERS[inner or _sniff(tmp)](tmp, report)
        finally:
            tmp.unlink(missing_ok=True)

    return records


READERS: dict[str, Callable[[Path, Report], Records]] = {
    "jsonl": _records_jsonl,
    "csv": _records_csv,
    "parquet": _records_parquet,
    "hf_disk": _records_hf_disk,
    "zip": _unpacked(_extract_zip),
    "tar": _unpacked(_extract_tar),
    "jsonl.gz": _gunzipped("jsonl"),
    "csv.gz": _gunzipped("csv"),
    "parquet.gz": _gunzipped("parquet"),
    "gz": _gunzipped(None),
}
