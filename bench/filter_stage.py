"""The filter stage against its own verifier pool, on the same stored answers.

Stores N generations (realistic math answers from bench/math_answers.py: right, wrong, unparseable,
symbolic, long LaTeX) in a fresh PostgreSQL database as a finished rollout, then measures
  peer: verify_many over the same answers in batches (the pool alone, nothing stored), and
  ours: the filter stage's chunks, in-process, one after another (read, verify, write verdicts and
        decisions, counters, progress) through the same pool.
Target: ours keeps at least 80% of the peer's throughput (storage and bookkeeping cost at most a fifth).

    .venv/bin/python bench/filter_stage.py [--generations 200000] [--attempts 4]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import fresh_db  # noqa: E402
from bench.math_answers import make  # noqa: E402


def setup(generations: int, attempts: int) -> tuple[int, list[dict]]:
    os.environ.update(
        {
            "DISTILLERY_DATABASE_URL": fresh_db("distillery_bench_filter"),
            "DISTILLERY_ENVIRONMENT": "test",
            "DISTILLERY_SECRET_KEY": "bench-secret-key-0123456789",
            "DISTILLERY_DATA_DIR": tempfile.mkdtemp(prefix="distillery-bench-"),
            "DISTILLERY_LOG_LEVEL": "WARNING",
            "DISTILLERY_PROGRESS_INTERVAL_S": "1",
        }
    )
    from backend.core.db import get_engine, session_scope
    from backend.core.migrate import upgrade_head
    from backend.projects.service import create_project
    from backend.runs.models import Run, RunStage, Status
    from backend.users.service import create_user

    upgrade_head()
    items = make(generations, 0, seed=7)
    prompts = generations // attempts
    with session_scope() as s:
        project = create_project(
            s, owner=create_user(s, email="b@example.com", password="bench-pw"), name="b"
        )
        from backend.prompts.models import PromptSet

        pset = PromptSet(project_id=project.id, name="b", prompt_count=prompts, status="ready")
        s.add(pset)
        s.flush()
        recipe = {
            "stages": ["rollout", "filter"],
            "rollout": {"n": attempts, "split": "all"},
            "filter": {"verifiers": {"verifiers": [{"name": "math"}]}, "chunk_size": 256, "batch": 512},
        }
        run = Run(
            project_id=project.id, name="b", recipe=recipe, prompt_set_id=pset.id, status=Status.running
        )
        s.add(run)
        s.flush()
        s.add(RunStage(run_id=run.id, position=0, kind="rollout", status=Status.succeeded))
        stage = RunStage(run_id=run.id, position=1, kind="filter", status=Status.running)
        s.add(stage)
        s.flush()
        pset_id, run_id, stage_id = pset.id, run.id, stage.id
    raw = get_engine().raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy("COPY prompts (id, prompt_set_id, position, text, reference, meta, text_hash, split) "
                      "FROM STDIN") as cp:  # fmt: skip
            for p in range(prompts):
                ref = items[p * attempts]["reference"]
                cp.write_row((p + 1, pset_id, p, f"question {p}", ref, "{}", f"{p:032x}", "train"))
        with cur.copy("COPY generations (run_id, prompt_id, attempt, status, content, finish_reason, "
                      "from_cache, created_at) FROM STDIN") as cp:  # fmt: skip
            for i, it in enumerate(items[: prompts * attempts]):
                p = i // attempts
                it["reference"] = items[p * attempts]["reference"]  # one reference per prompt
                cp.write_row((run_id, p + 1, i % attempts, "ok", it["completion"], "stop", False, "now()"))
        raw.commit()
    finally:
        raw.close()
    return stage_id, items[: prompts * attempts]


def peer(items: list[dict], batch: int) -> float:
    from backend.verifiers.registry import VerifierCombo
    from workers.verifiers.verify import verify_many

    combo = VerifierCombo(verifiers=[{"name": "math"}])
    t0 = time.perf_counter()
    for i in range(0, len(items), batch):
        verify_many(
            combo,
            [{"completion": x["completion"], "reference": x["reference"]} for x in items[i : i + batch]],
        )
    return time.perf_counter() - t0


def ours(stage_id: int) -> tuple[float, dict]:
    from sqlalchemy import select

    from backend.core.db import session_scope
    from backend.prompts.models import Prompt
    from backend.runs import lifecycle
    from backend.runs.chunks import plan_chunks
    from backend.runs.models import Run, RunStage, Status
    from workers.stages.filter.chunk import build_job, filter_chunk
    from workers.stages.filter.fanout import FANOUT

    t0 = time.perf_counter()
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        run = s.get(Run, stage.run_id)
        positions = (
            select(Prompt.position).where(Prompt.prompt_set_id == run.prompt_set_id).order_by(Prompt.position)
        )
        plan_chunks(s, stage_id=stage_id, positions=positions, chunk_size=256)
        ids = lifecycle.queue_chunks(s, stage_id=stage_id)
    for chunk_id in ids:
        job = FANOUT.claim(stage_id, chunk_id, "bench", build_job)
        filter_chunk(job)
        FANOUT.settle(stage_id, chunk_id, Status.succeeded, None)
    elapsed = time.perf_counter() - t0
    with session_scope() as s:
        return elapsed, FANOUT.summarize(s, s.get(RunStage, stage_id))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generations", type=int, default=200_000)
    ap.add_argument("--attempts", type=int, default=4)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    stage_id, items = setup(args.generations, args.attempts)
    from workers.verifiers.pool import shared_pool

    shared_pool()  # both sides start with a warm pool
    peer_s = peer(items, args.batch)
    ours_s, summary = ours(stage_id)
    n = len(items)
    out = io.StringIO()
    out.write(f"{'':24}{'seconds':>10}{'answers/s':>12}\n")
    out.write(f"{'peer: verify_many':24}{peer_s:>10.1f}{n / peer_s:>12.0f}\n")
    out.write(f"{'ours: filter stage':24}{ours_s:>10.1f}{n / ours_s:>12.0f}\n")
    ratio = peer_s / ours_s
    out.write(f"ratio ours/peer throughput: {ratio:.2f} (target >= 0.80)\n")
    counts = ", ".join(f"{k} {summary[k]}" for k in ("verified", "accepted", "rejected", "undecided"))
    out.write(counts + "\n")
    sys.stdout.write(out.getvalue())
    return 0 if summary["verified"] == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
