"""A second process that reads, validates and hashes a big import while the first one deduplicates
and writes it.

On PostgreSQL the import of a large file is split across processes, so that it uses more than one core
(threads would not: the per-row Python work holds the GIL):

    parse process:  read + validate + map rows -> word and text hashes -> COPY lines (encoded)
    import process: exact / near duplicates, decontamination -> COPY of the surviving lines
    PostgreSQL:     the COPY itself

Everything a row needs that does not depend on other rows is done here, including its COPY line: the
import process only decides which rows survive and hands their lines to PostgreSQL as they are. It
receives, per batch, the rows' positions, word hashes, text hashes and lengths (numpy arrays, pickled as
raw memory), the COPY lines as one UTF-8 blob with the offset of each line, and the running counts of
rows read and rejected. The report of rejected rows comes at the end; a file that cannot be read at all
ends the stream with the ImportFailed it raised.

Messages go over the child's stdout as pickles, each behind its length (8 bytes, little-endian). The
child is this module run as `python -m backend.prompts.parse_process`, with its job as JSON on stdin.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import re
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from backend.prompts.bulk import copy_columns
from backend.prompts.dedup.hashing import hex_hashes
from backend.prompts.importer import Columns
from backend.prompts.pipeline import HashedRows
from backend.prompts.report import ImportFailed, Report
from backend.prompts.schemas import CleaningOptions, ColumnMapping
from backend.prompts.split import split_column

_HEADER = struct.Struct("<Q")
RECEIVE_AHEAD = 1  # batches received and waiting, besides the one being cleaned


@dataclass
class EncodedBatch:
    """One batch from the parse process."""

    rows_read: int  # rows read so far in the file, this batch included
    rejected: int  # rows rejected so far
    positions: list[int]
    words: tuple[np.ndarray, np.ndarray]
    pairs: np.ndarray
    lengths: np.ndarray
    evals: np.ndarray | None  # which rows fall in the eval split; None when eval_ratio is 0
    blob: bytes  # the COPY lines of every row of the batch, back to back
    offsets: np.ndarray  # where each line starts in blob, and where the last one ends

    def hashed_rows(self) -> HashedRows:
        return HashedRows(self.positions, self.words, self.pairs, self.lengths, self.text)

    def text(self, i: int) -> str:
        """The prompt text of row i, read back out of its COPY line (the third field, unescaped)."""
        line = self.blob[self.offsets[i] : self.offsets[i + 1]].decode()
        field = line.split("\t", 3)[2]
        return _unescape(field)

    def lines(self, alive: np.ndarray) -> bytes:
        """The COPY lines of the rows that survive: whole runs of consecutive survivors at a time."""
        if alive.all():
            return self.blob
        edges = np.flatnonzero(np.diff(np.concatenate([[False], alive, [False]]).astype(np.int8)))
        starts, ends = self.offsets[edges[0::2]], self.offsets[edges[1::2]]
        blob = self.blob
        return b"".join([blob[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])


_COPY_ESCAPE = re.compile(r"\\(.)", re.S)
_COPY_CODES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(field: str) -> str:
    """A field of COPY text back to its value (the inverse of bulk's escaping)."""
    return _COPY_ESCAPE.sub(lambda m: _COPY_CODES.get(m[1], m[1]), field) if "\\" in field else field


def _encode(
    batch: Columns, prompt_set_id: int, options: CleaningOptions, rows_read: int, rejected: int
) -> EncodedBatch:
    rows = HashedRows.of(batch.texts, batch.positions)
    hashes = hex_hashes(rows.pairs)
    splits = split_column(hashes, options)
    blob = copy_columns(prompt_set_id, batch, splits, hashes).encode()
    # Escaping leaves no newline inside a field: every newline ends a line.
    offsets = np.zeros(len(batch) + 1, dtype=np.int64)
    offsets[1:] = np.flatnonzero(np.frombuffer(blob, np.uint8) == 10) + 1
    return EncodedBatch(
        rows_read=rows_read,
        rejected=rejected,
        positions=rows.positions,
        words=rows.words,
        pairs=rows.pairs,
        lengths=rows.lengths,
        evals=np.array([s == "eval" for s in splits]) if options.eval_ratio else None,
        blob=blob,
        offsets=offsets,
    )


def _widen(pipe: IO[bytes]) -> None:
    """Give the pipe a 1 MiB buffer (Linux; the default is 64 KiB), so a batch crosses it in a few
    writes and the receiving thread wakes, and takes the GIL, a few times a batch instead of dozens."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass  # another OS, or a lower pipe-max-size: the default buffer works, only slower


def _send(out: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=5)
    out.write(_HEADER.pack(len(data)))
    out.write(data)


def child_main() -> None:
    """The parse process: the job as JSON on stdin, messages on stdout."""
    from backend.prompts.importer import parse_columns

    job = json.loads(sys.stdin.read())
    out = os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 20, closefd=False)
    sys.stdout = sys.stderr  # nothing else may write into the message stream
    mapping = ColumnMapping.model_validate(job["mapping"])
    options = CleaningOptions.model_validate(job["options"])
    report = Report()
    import gc

    gc.disable()  # see service._pause_gc
    try:
        for batch in parse_columns(Path(job["path"]), job["fmt"], mapping, report, job["size"]):
            _send(out, _encode(batch, job["prompt_set_id"], options, report.rows_read, report.rejected))
    except ImportFailed as exc:
        _send(out, ("failed", exc.reason, exc.message, exc.row, report))
    else:
        _send(out, ("done", report))
    out.flush()


class ParseProcess:
    """The parent's side: starts the parse process and yields its batches; stop() ends it early."""

    def __init__(
        self,
        *,
        path: Path,
        fmt: str,
        mapping: ColumnMapping,
        options: CleaningOptions,
        prompt_set_id: int,
        size: int,
    ) -> None:
        self.report: Report | None = None
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "backend.prompts.parse_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        # both PIPEs, so never None (Popen types them optional)
        stdin, self._stdout = cast(IO[bytes], self._proc.stdin), cast(IO[bytes], self._proc.stdout)
        job = {
            "path": str(path),
            "fmt": fmt,
            "mapping": mapping.model_dump(),
            "options": options.model_dump(),
            "prompt_set_id": prompt_set_id,
            "size": size,
        }
        stdin.write(json.dumps(job).encode())
        stdin.close()
        _widen(self._stdout)
        # A thread takes each message off the pipe as soon as it is written: the pipe holds 64 KiB and a
        # batch is megabytes, so without it the parse process would wait while this one cleans a batch.
        self._messages: queue.Queue[Any] = queue.Queue(maxsize=RECEIVE_AHEAD)
        self._stopping = threading.Event()
        self._receiver = threading.Thread(target=self._receive, name="parse-process-receiver", daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
        try:
            while True:
                (size,) = _HEADER.unpack(self._read(_HEADER.size))
                message = pickle.loads(self._read(size))
                self._put(message)
                if not isinstance(message, EncodedBatch):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(exc)

    def _put(self, item: Any) -> None:
        while not self._stopping.is_set():
            try:
                self._messages.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _read(self, n: int) -> bytes:
        data = self._stdout.read(n)
        if len(data) != n:
            self._proc.wait()
            self._stderr.seek(0)
            err = self._stderr.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"the parse process ended unexpectedly (exit {self._proc.returncode}): {err}")
        return data

    def batches(self) -> Iterator[EncodedBatch]:
        """The batches in file order; raises ImportFailed if the file cannot be read."""
        while True:
            message = self._messages.get()
            if isinstance(message, BaseException):
                raise message
            if isinstance(message, EncodedBatch):
                yield message
                continue
            if message[0] == "failed":
                _, reason, text, row, self.report = message
                raise ImportFailed(reason, text, row)
            self.report = message[1]
            return

    def stop(self) -> None:
        """End the process (it may still be reading) and release what it holds."""
        self._stopping.set()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._receiver.join()  # the pipe is closed at the other end now: its read returns
        self._stdout.close()
        self._stderr.close()


if __name__ == "__main__":
    # Run the imported module's copy, so that batches pickle as backend.prompts.parse_process.EncodedBatch.
    from backend.prompts import parse_process

    parse_process.child_main()
