"""Prompt sets straight from the Hub, or from a local dataset repository folder: `datasets.load_dataset`,
streamed.

The API checks the request and writes it as a small spec file in the uploads folder; the import job reads
that as its "file" through the one import pipeline (mapping, validation, dedup, decontamination, split),
so a dataset differs from an upload only in where its rows come from. Streaming reads a batch of rows at
a time: a million rows never sit in memory. HF_HUB_OFFLINE (and HF_DATASETS_OFFLINE) are honoured as
`datasets` honours them: offline, only its cache and local folders can be read, and asking for anything
else fails at once with a message saying so. A local folder follows DISTILLERY_DATASET_ROOTS, checked
when the import is asked for and again here, in the worker, before anything is read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from backend.core.config import get_settings
from backend.core.errors import Invalid, NotFound
from backend.core.local_paths import HUB_ID, Where, is_local_path, locate
from backend.prompts.readers import PARQUET_BATCH_ROWS, Records, arrow_records
from backend.prompts.report import ImportFailed, Report

_NAME = r"^[\w][\w.+-]{0,199}$"  # a config, split or revision: what the Hub's names are made of


class HubSource(BaseModel):
    """Which rows: a dataset (hub id or local folder), its config and split, and a revision."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(
        min_length=1,
        max_length=500,
        description="A hub id (`openai/gsm8k`), or a local dataset repository folder under "
        "DISTILLERY_DATASET_ROOTS (read by `datasets.load_dataset` the same way).",
    )
    config: str | None = Field(
        None, pattern=_NAME, description="The dataset's config (`main`), if it has several."
    )
    split: str = Field("train", pattern=_NAME, description="The split to import (`train`, `test`).")
    revision: str | None = Field(None, pattern=_NAME, description="A branch, tag or commit; default: main.")

    def label(self) -> str:
        """What the prompt set's `source` says: `hub:openai/gsm8k (main, train)`."""
        return f"hub:{self.dataset} ({', '.join(x for x in (self.config, self.split, self.revision) if x)})"


def check_source(source: HubSource, *, project_id: int) -> str:
    """What `load_dataset` is given: the hub id as typed, or the folder resolved. Invalid for what is
    neither or not allowed, NotFound for another project's folder (as a foreign id would be)."""
    ref = source.dataset.strip()
    if not is_local_path(ref):
        if not HUB_ID.match(ref):
            raise _invalid(f"{ref[:100]!r} is neither a hub id (owner/name) nor a folder")
        return ref
    real, where = locate(ref, project_id=project_id, roots=get_settings().dataset_roots)
    if where is Where.foreign:
        raise NotFound("dataset: folder not found", code="dataset_not_found",
                       fields=[{"path": "dataset", "message": "folder not found"}])  # fmt: skip
    if where is Where.outside:
        raise _invalid(
            "local dataset folders must lie under a folder the administrator allows "
            "(DISTILLERY_DATASET_ROOTS); name a hub id instead",
            code="dataset_path_not_allowed",
        )
    if not real.is_dir():
        raise _invalid(f"no folder at {ref!r}", code="dataset_not_found")
    return str(real)


def _invalid(message: str, code: str = "bad_dataset") -> Invalid:
    return Invalid(f"dataset: {message}", code=code, fields=[{"path": "dataset", "message": message}])


def write_spec(source: HubSource, *, project_id: int, dest_dir: Path) -> Path:
    """The request, as the file the import job reads."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest_dir, suffix=".hub.json")
    with os.fdopen(fd, "w") as out:
        json.dump({"project_id": project_id, "source": source.model_dump()}, out)
    return Path(name)


def records(path: Path, report: Report) -> Records:
    """The split's rows, numbered from 1 (the import pipeline's reader for a spec file)."""
    spec = json.loads(path.read_text())
    source = HubSource.model_validate(spec["source"])
    try:
        dataset = check_source(source, project_id=spec["project_id"])
    except (Invalid, NotFound) as exc:  # the roots changed since the request was accepted
        raise ImportFailed(exc.code, str(exc)) from exc
    yield from arrow_records(_tables(dataset, source, report), report)


def _tables(dataset: str, source: HubSource, report: Report) -> Iterator[pa.RecordBatch]:
    """The split as Arrow batches; what `datasets` raises, as an ImportFailed saying what to do."""
    from datasets import load_dataset  # late: seconds to import, and only this job needs it

    where = f"{source.dataset!r}" + (f" config {source.config!r}" if source.config else "")
    try:
        ds = load_dataset(
            dataset, source.config, split=source.split, revision=source.revision, streaming=True
        )
        for table in ds.with_format("arrow").iter(batch_size=PARQUET_BATCH_ROWS):
            yield from table.to_batches()
    except ImportFailed:
        raise
    except ConnectionError as exc:  # datasets' own, raised for an unreachable Hub and for offline mode
        offline = "; HF_HUB_OFFLINE is set, so only datasets in the local cache and local folders can be read"
        hint = offline if _offline() else ""
        raise ImportFailed("hub_unreachable", f"the Hub cannot be reached for {where}{hint}: {exc}") from exc
    except FileNotFoundError as exc:  # DatasetNotFoundError too: no such dataset, or no data files in it
        raise ImportFailed("dataset_not_found", f"{where}: {exc}") from exc
    except ValueError as exc:  # a split or config it does not have ("Bad split: x. Available splits: ...")
        raise ImportFailed(
            "bad_dataset_request", f"{where}: {exc}", report.rows_read + 1 if report.rows_read else None
        ) from exc


def _offline() -> bool:
    return any(
        os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )
