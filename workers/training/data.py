"""The snapshot a train stage reads: its folder, its Parquet configs loaded with `datasets`, and the
teacher attempts behind each row (for the truncated-trace check and the lineage)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.errors import Invalid, NotFound
from backend.datasets.models import DatasetSnapshot
from backend.runs.models import Run
from backend.samples.models import Generation


@dataclass
class SnapshotRef:
    id: int
    project_id: int
    run_id: int | None
    content_hash: str
    folder: Path
    files: dict[str, Any]


def resolve_snapshot(run_id: int, snapshot_id: int | None) -> SnapshotRef:
    """The recipe's snapshot_id (of the run's project), else the one the run's snapshot stage wrote."""
    with session_scope() as s:
        run = s.get_one(Run, run_id)
        if snapshot_id is None:
            snapshot_id = ((run.summary or {}).get("snapshot") or {}).get("snapshot_id")
            if snapshot_id is None:
                raise Invalid("the run's snapshot stage left no snapshot to train on", code="no_snapshot")
        snap = s.get(DatasetSnapshot, snapshot_id)
        if snap is None or snap.project_id != run.project_id:
            raise NotFound(f"snapshot {snapshot_id} not found")
        folder = get_settings().data_dir / "snapshots" / str(snap.project_id) / snap.content_hash
        if not folder.is_dir():
            raise Invalid(
                f"the files of snapshot {snap.id} are gone from the data directory", code="no_snapshot"
            )
        return SnapshotRef(snap.id, snap.project_id, snap.run_id, snap.content_hash, folder, dict(snap.files))


def load_config(snap: SnapshotRef, config: str):
    """One of the snapshot's configs (messages, prompt_completion, preference) as a datasets.Dataset."""
    import datasets

    path = snap.folder / f"{config}.parquet"
    if not path.is_file():
        raise Invalid(
            f"snapshot {snap.id} has no {config} rows (it has {sorted(snap.files)}); "
            + (
                "preference pairs need rejected attempts and snapshot.preference_pairs"
                if config == "preference"
                else ""
            ),
            code="no_rows",
        )
    return datasets.load_dataset("parquet", data_files=str(path), split="train")


def truncated_generations(ids: list[int]) -> set[int]:
    """The teacher attempts among ids that the teacher stopped at max_tokens (finish_reason length)."""
    out: set[int] = set()
    with session_scope() as s:
        for i in range(0, len(ids), 5000):
            out.update(
                s.scalars(
                    select(Generation.id).where(
                        Generation.id.in_(ids[i : i + 5000]), Generation.finish_reason == "length"
                    )
                )
            )
    return out
