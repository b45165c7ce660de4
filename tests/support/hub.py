"""What a push needs, as the pipeline leaves it: a teacher, a source run with its filter and selection,
a snapshot (Parquet configs under DATA_DIR/snapshots and its card, rendered by backend/datasets/card.py),
a train run's model artifact (a family stand-in's folder: real vocabulary and chat template, tiny
weights, saved as the train stage saves a student) and an evaluation of it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from tests.support.env import DATA_DIR, unique
from tests.support.factories import make_prompt_set, make_run, make_stage

ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"What is {i} times 7?"},
            {"role": "assistant", "content": f"<think>\n{i} times 7\n</think>\n\n{7 * i}"},
        ],
        "prompt_id": i,
        "attempt": 0,
        "generation_id": 100 + i,
    }
    for i in range(6)
]


def _write_snapshot(pid: int, run, teacher, pset_id: int) -> tuple[Path, str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from backend.datasets.card import render_card

    table = pa.Table.from_pylist(ROWS)
    content_hash = hashlib.sha256(repr(ROWS).encode() + unique("snap").encode()).hexdigest()
    folder = DATA_DIR / "snapshots" / str(pid) / content_hash
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "messages.parquet")
    (folder / "messages.jsonl").write_text("\n".join(map(repr, ROWS)))
    counts = dict.fromkeys(
        (
            "accepted",
            "after_cut_reasoning",
            "after_pass_rate_band",
            "after_near_duplicates",
            "after_max_per_prompt",
        ),
        len(ROWS),
    ) | {"preference_pairs": 0}
    card = render_card(
        name="times seven",
        content_hash=content_hash,
        configs=["messages"],
        teacher={
            "name": teacher.name,
            "backend": teacher.backend,
            "model": teacher.model,
            "licence": teacher.licence,
        },
        warnings=list(run.warnings or []),
        prompt_set={"id": pset_id, "name": "prompts", "version": 1},
        verifiers={"mode": "all", "verifiers": [{"name": "math", "version": 1, "settings": {}}]},
        selection=run.recipe["snapshot"],
        counts=counts,
        filter_summary=None,
        run={"id": run.id, "name": run.name, "recipe_version": 1},
    )
    (folder / "README.md").write_text(card)
    return folder, content_hash, card


def make_pushable(pid: int, *, licence: str = "open_weights", family: str = "qwen2.5") -> dict[str, Any]:
    """A snapshot and a trained model of project pid, with their lineage; ids and paths."""
    from backend.core.db import session_scope
    from backend.datasets.models import DatasetSnapshot, ModelArtifact
    from backend.evals.models import Evaluation
    from backend.teachers.models import Teacher
    from tests.standins import build

    pset = make_prompt_set(pid, n=6)
    with session_scope() as s:
        teacher = Teacher(
            project_id=pid,
            name=unique("teacher"),
            backend="openai_compat",
            model="org/big-teacher",
            base_url="http://127.0.0.1:9/v1",
            licence=licence,
        )
        s.add(teacher)
        s.flush()
        warnings = (
            [f"teacher {teacher.name!r} is served under API terms that forbid training competing models"]
            if licence == "api_no_compete"
            else []
        )
        recipe = {
            "prompt_set_id": pset,
            "teacher_id": teacher.id,
            "filter": {"verifiers": {"mode": "all", "verifiers": [{"name": "math"}]}},
            "snapshot": {"max_per_prompt": 1, "reasoning": "keep"},
        }
        source = make_run(
            s,
            project_id=pid,
            prompt_set_id=pset,
            status="succeeded",
            recipe=recipe,
            teacher_id=teacher.id,
            warnings=warnings,
            name="times seven",
        )
        folder, content_hash, card = _write_snapshot(pid, source, teacher, pset)
        snap = DatasetSnapshot(
            project_id=pid,
            run_id=source.id,
            name="times seven",
            content_hash=content_hash,
            row_counts={"after_max_per_prompt": len(ROWS), "messages": len(ROWS)},
            files={p.name: p.stat().st_size for p in folder.iterdir()},
            card={"markdown": card},
        )
        s.add(snap)
        s.flush()
        train = make_run(
            s, project_id=pid, status="succeeded", recipe={"train": {"max_steps": 3}}, name="student"
        )
        final = DATA_DIR / "training" / str(pid) / f"run-{train.id}" / "final"
        shutil.copytree(build(family), final)
        (final / "STANDIN.md").unlink()
        (final / "training_args.bin").write_bytes(b"not for the Hub")  # what a push leaves behind
        lineage = {
            "teacher": {"id": teacher.id, "name": teacher.name, "model": teacher.model},
            "snapshot": {"id": snap.id, "content_hash": content_hash, "run_id": source.id},
            "checkpoint": str(final.parent / "checkpoint-3"),
            "run": {"id": train.id, "name": train.name},
        }
        art = ModelArtifact(
            project_id=pid,
            run_id=train.id,
            snapshot_id=snap.id,
            base_model="Qwen/Qwen2.5-0.5B-Instruct",
            method="sft",
            path=str(final),
            metrics={
                "step": 3,
                "loss": 1.25,
                "lineage": lineage,
                "recipe": {"max_steps": 3},
                "template": {
                    "family": "qwen2_5",
                    "source": "Qwen/Qwen2.5-0.5B-Instruct",
                    "reasoning": "plain",
                },
            },
        )
        s.add(art)
        s.flush()
        stage = make_stage(s, train, "evaluate", status="succeeded")
        s.add(
            Evaluation(
                project_id=pid,
                run_id=train.id,
                stage_id=stage.id,
                artifact_id=art.id,
                label="student",
                model="student",
                role="student",
                prompt_set_id=pset,
                verifier="math",
                metrics={"pass_at_1": 0.5, "pass_at_1_ci": [0.25, 0.75], "samples": 6},
            )
        )
        s.flush()
        return {
            "snapshot_id": snap.id,
            "model_id": art.id,
            "content_hash": content_hash,
            "teacher": teacher.name,
            "model_folder": final,
            "snapshot_folder": folder,
            "prompt_set_id": pset,
        }


def recorded_folder(repo, into: Path) -> Path:
    """The files a fake Hub repository received, written out as a folder (what a clone would hold)."""
    into.mkdir(parents=True, exist_ok=True)
    for name, data in repo.files.items():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_bytes(data)
    return into
