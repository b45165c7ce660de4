"""The review queue's claim-next and decide with 1,000,000 items in a run's queue and 20 concurrent
reviewers, beside a bare `SELECT ... FOR UPDATE SKIP LOCKED` loop on the same table in the same run.

  peer: each reviewer thread on its own psycopg connection: claim = SELECT id ... ORDER BY priority, id
        LIMIT 1 FOR UPDATE SKIP LOCKED + UPDATE to leased; decide = UPDATE to done. One transaction each.
  ours: what the claim and decision routes run: queue.review_run + claim_next, or decide, each in a
        SQLAlchemy session of its own (the overlap rule, the lease checks, the audit row, the human
        label, the reviewer's count, the drained check, the stage's throttled progress).
Target: p95 under 20 ms for each of claim and decide.

Two loads, both sides under each:
  paced:     each reviewer waits --think-ms (default 250) after each claim and each decision before the next
             request. A person reading a trace takes seconds; 250 ms between keystrokes is faster than any
             reviewer, so 20 of them send about 80 requests a second. This is the load the target is about.
  saturated: no wait at all (--think-ms 0 on both sides): 20 threads hammer the queue back to back. On a
             2-core machine this measures how the CPU is shared between 20 threads of one interpreter (the
             API runs several processes), not a reviewer's wait; it is reported beside the paced figures.

    .venv/bin/python bench/review_claim.py [--items 1000000] [--reviewers 20] [--ops 150] [--think-ms 250]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import fresh_db  # noqa: E402


def setup(items: int, reviewers: int) -> tuple[int, list[int], str]:
    url = fresh_db("distillery_bench_review")
    os.environ.update(
        {
            "DISTILLERY_DATABASE_URL": url,
            "DISTILLERY_ENVIRONMENT": "test",
            "DISTILLERY_SECRET_KEY": "bench-secret-key-0123456789",
            "DISTILLERY_LOG_LEVEL": "WARNING",
            "DISTILLERY_DATA_DIR": tempfile.mkdtemp(prefix="distillery-bench-"),
        }
    )
    from sqlalchemy import create_engine, text

    from backend.core import db
    from backend.core.db import session_scope

    # every reviewer thread holds a connection, as each api worker would; the default pool has 15
    db.make_engine = lambda u: create_engine(u, pool_pre_ping=True, pool_size=reviewers + 2)
    from backend.core.migrate import upgrade_head
    from backend.projects.models import Membership, Role
    from backend.projects.service import create_project
    from backend.prompts.models import PromptSet
    from backend.runs.models import Run, RunStage, Status
    from backend.users.models import User

    upgrade_head()
    with session_scope() as s:
        users = [User(email=f"r{i}@example.com", password_hash="x", name=f"r{i}") for i in range(reviewers)]
        s.add_all(users)
        s.flush()
        project = create_project(s, owner=users[0], name="bench")
        for u in users[1:]:
            s.add(Membership(project_id=project.id, user_id=u.id, role=Role.reviewer))
        pset = PromptSet(project_id=project.id, name="b", prompt_count=items, status="ready")
        s.add(pset)
        s.flush()
        recipe = {
            "prompt_set_id": pset.id,
            "stages": ["rollout", "filter", "review"],
            "review": {"lease_s": 600},
        }
        run = Run(
            project_id=project.id, name="b", recipe=recipe, prompt_set_id=pset.id, status=Status.running
        )
        s.add(run)
        s.flush()
        for i, kind in enumerate(recipe["stages"]):
            s.add(
                RunStage(
                    run_id=run.id,
                    position=i,
                    kind=kind,
                    status=Status.running if kind == "review" else Status.succeeded,
                    progress_total=items if kind == "review" else None,  # as the stage's task sets it
                )
            )
        ids = (pset.id, run.id)
        uids = [u.id for u in users]
    t0 = time.perf_counter()
    with session_scope() as s:
        p = {"ps": ids[0], "run": ids[1], "n": items}
        s.execute(
            text(
                "INSERT INTO prompts (prompt_set_id, position, text, reference, meta, text_hash, split) "
                "SELECT :ps, g, 'question ' || g, g::text, '{}', lpad(to_hex(g), 32, '0'), 'train' "
                "FROM generate_series(0, :n - 1) g"
            ),
            p,
        )
        s.execute(
            text(
                "INSERT INTO generations (run_id, prompt_id, attempt, status, content, from_cache, "
                "created_at) SELECT :run, id, 0, 'ok', 'Answer: ' || position, false, now() FROM prompts "
                "WHERE prompt_set_id = :ps"
            ),
            p,
        )
        s.execute(
            text(
                "INSERT INTO review_tasks (run_id, generation_id, slot, reason, priority, state, created_at) "
                "SELECT :run, id, 0, 'judge_unsure', (id % 3)::int, 'open', now() FROM generations "
                "WHERE run_id = :run"
            ),
            p,
        )
    with session_scope() as s:
        s.execute(text("ANALYZE prompts; ANALYZE generations; ANALYZE review_tasks"))
    print(f"seeded {items:,} queue items in {time.perf_counter() - t0:.1f}s", flush=True)
    return ids[1], uids, url


def _threads(n: int, fn) -> None:
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            start.wait()
            fn(i)
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            errors.append(exc)

    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def _pause(rng: random.Random, think_ms: float) -> None:
    """A reviewer's time between requests: uniform in [0.5, 1.5] x think_ms, so they do not march in step."""
    if think_ms > 0:
        time.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)


def peer(
    url: str, run_id: int, uids: list[int], ops: int, think_ms: float
) -> tuple[list[float], list[float]]:
    import psycopg

    claims: list[float] = []
    decides: list[float] = []

    def reviewer(i: int) -> None:
        rng = random.Random(i)
        with psycopg.connect(url) as c:
            for _ in range(ops):
                _pause(rng, think_ms)
                t0 = time.perf_counter()
                row = c.execute(
                    "SELECT id FROM review_tasks WHERE run_id = %s AND state <> 'done' AND "
                    "state <> 'closed' AND state = 'open' ORDER BY priority, id LIMIT 1 "
                    "FOR UPDATE SKIP LOCKED",
                    (run_id,),
                ).fetchone()
                c.execute(
                    "UPDATE review_tasks SET state = 'leased', reviewer_id = %s, lease_until = now() + "
                    "interval '10 minutes' WHERE id = %s",
                    (uids[i], row[0]),
                )
                c.commit()
                t1 = time.perf_counter()
                claims.append(t1 - t0)
                _pause(rng, think_ms)
                t1 = time.perf_counter()
                c.execute("UPDATE review_tasks SET state = 'done' WHERE id = %s", (row[0],))
                c.commit()
                t2 = time.perf_counter()
                decides.append(t2 - t1)

    _threads(len(uids), reviewer)
    return claims, decides


def ours(run_id: int, uids: list[int], ops: int, think_ms: float) -> tuple[list[float], list[float]]:
    from backend.core.db import session_scope
    from backend.reviews import queue
    from backend.reviews.schemas import DecisionIn
    from backend.runs.models import Run

    claims: list[float] = []
    decides: list[float] = []
    body = DecisionIn(decision="accept")
    with session_scope() as s:
        project_id = s.get(Run, run_id).project_id

    def reviewer(i: int) -> None:
        rng = random.Random(i)
        for _ in range(ops):
            _pause(rng, think_ms)
            t0 = time.perf_counter()
            with session_scope() as s:
                run = queue.review_run(s, project_id=project_id, run_id=run_id)  # as the route reads it
                task_id = queue.claim_next(s, run=run, user_id=uids[i]).id
            t1 = time.perf_counter()
            claims.append(t1 - t0)
            _pause(rng, think_ms)
            t1 = time.perf_counter()
            with session_scope() as s:
                run = queue.RunRef(id=run_id, project_id=project_id)  # as the decision route names it
                queue.decide(s, run=run, task_id=task_id, user_id=uids[i], body=body)
            t2 = time.perf_counter()
            decides.append(t2 - t1)

    _threads(len(uids), reviewer)
    return claims, decides


def vacuum(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM (ANALYZE) review_tasks")


def p95(xs: list[float]) -> float:
    return float(np.percentile(np.array(xs) * 1000, 95))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--ops", type=int, default=150, help="claim+decide pairs per reviewer, side and load")
    ap.add_argument("--think-ms", type=float, default=250, help="a reviewer's pause between requests (paced)")
    args = ap.parse_args()
    run_id, uids, url = setup(args.items, args.reviewers)
    ours(run_id, uids, 5, 0)  # warm the pool and the plans
    results = {}
    for load, think in (("paced", args.think_ms), ("saturated", 0.0)):
        for name, side in (
            ("peer", lambda t=think: peer(url, run_id, uids, args.ops, t)),
            ("ours", lambda t=think: ours(run_id, uids, args.ops, t)),
        ):
            vacuum(url)  # each side starts from a queue whose decided rows are cleaned up, not the other's
            results[(load, name)] = side()
    print(f"{args.items:,} items, {args.reviewers} reviewers, {args.ops} claim+decide each per side and load")
    print(f"{'':22} {'claim p95 ms':>14} {'decide p95 ms':>14} {'claim p50':>10} {'decide p50':>11}")
    for (load, name), (c, d) in results.items():
        label = f"{load} {name}" + (f" ({args.think_ms:.0f} ms)" if load == "paced" else "")
        c50, d50 = np.median(c) * 1000, np.median(d) * 1000
        print(f"{label:22} {p95(c):14.2f} {p95(d):14.2f} {c50:10.2f} {d50:11.2f}")
    for load in ("paced", "saturated"):
        (oc, od), (pc, pd) = results[(load, "ours")], results[(load, "peer")]
        verdict = "met" if max(p95(oc), p95(od)) < 20 else "NOT met"
        print(
            f"{load}: ratio ours/peer p95: claim {p95(oc) / p95(pc):.2f}x, decide {p95(od) / p95(pd):.2f}x; "
            f"ours under 20 ms each: {verdict}"
        )


if __name__ == "__main__":
    main()
