"""What `accelerate launch` runs on each GPU: the train stage's body for an already claimed stage.
The worker's task claimed it and records how it ends; rank 0 writes the summary to a file for it."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import orjson

from backend.core.db import session_scope
from backend.runs.models import Run, RunStage
from workers.runner import StageContext, settings_for


def main(stage_id: int, result: Path) -> None:
    from accelerate import PartialState

    from workers.stages.train import train

    with session_scope() as s:
        stage = s.get_one(RunStage, stage_id)
        run = s.get_one(Run, stage.run_id)
        ctx = StageContext(stage.id, run.id, run.recipe, run.prompt_set_id, kind="train")
    ctx.settings = settings_for("train", ctx.recipe)
    summary = train(ctx, distributed_rank=PartialState().process_index)
    if summary is not None:
        result.write_bytes(orjson.dumps(summary))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(int(sys.argv[1]), Path(sys.argv[2]))
