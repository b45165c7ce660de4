"""Where a train stage keeps its checkpoints, and the last complete one to resume from."""

from __future__ import annotations

import re
from pathlib import Path

from backend.core.config import get_settings

_CKPT = re.compile(r"^checkpoint-(\d+)$")


def stage_dir(project_id: int, run_id: int, stage_id: int) -> Path:
    return get_settings().data_dir / "training" / str(project_id) / f"run-{run_id}" / f"stage-{stage_id}"


def last_checkpoint(folder: Path) -> tuple[str, int] | None:
    """The newest checkpoint whose trainer state was written (the Trainer writes it after the weights
    and the optimizer, so a worker killed mid-save leaves a folder without it, which is skipped)."""
    if not folder.is_dir():
        return None
    found = [
        (int(m.group(1)), p)
        for p in folder.iterdir()
        if (m := _CKPT.match(p.name))
        and (p / "trainer_state.json").is_file()
        and (p / "optimizer.pt").is_file()
    ]
    if not found:
        return None
    step, path = max(found)
    return str(path), step
