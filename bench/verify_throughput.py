"""Throughput of the math verifier against a plain serial loop of math_verify, and its hard timeout.

N realistic completions (bench/math_answers.py: right, wrong, unparseable, long LaTeX) go through
`verify_many` with the math verifier (first tier in this process, math-verify in the hard-timeout
pool, one worker per core). The peer, in the same run, is what a script would do: for each item
`verify(parse("$" + reference + "$"), parse(completion))`, serially, with math-verify's own alarm timeouts.
The hang family is left out of both (the peer would never finish it). Then the hang family, spread
through the first items, goes through verify_many alone: each must be answered `timeout` within the
hard timeout + 1 s and every other item must get the same verdict as before (nothing stalls or shifts).

    .venv/bin/python bench/verify_throughput.py [--n 100000] [--hang 24] [--timeout 3] [--subset 5000]

The subset row runs the same verifier with its first tier off on the first items, beside the loop's time
on those items: how much of the gain is the pool and the short extracted answer, not the first tier.

The hang-share rows (issue 23): the first --mixed-n normal items alone, then the same items with a share
of the hang family (--hang-share, 10%) spread through them, through the same pool in the same run, both
in one verify_many call and in the filter stage's way (verify_many over batches of --filter-batch, as
workers/stages/filter/chunk.py does, whose progress moves once a batch), each twice (clean, mixed, mixed,
clean; the mean of the two). Target: the hang-mixed run keeps
at least half the clean run's throughput (items/s, hang items counted), and the filter stage's progress
never waits more than 5 s (the longest wait, clean / mixed: one verify_many call for the first row,
between two batches for the second).

    .venv/bin/python bench/verify_throughput.py --only-hang-share [--mixed-n 3000] [--hang-share 0.1]
        [--hang-kind tower|factorial|expansion]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.math_answers import make  # noqa: E402


def peer_loop(items: list[dict]) -> tuple[list[bool], float]:
    from math_verify import parse, verify

    t0 = time.perf_counter()
    out = [bool(verify(parse("$" + i["reference"] + "$"), parse(i["completion"]))) for i in items]
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--hang", type=int, default=24)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--around", type=int, default=3000, help="normal items mixed with the hang family")
    ap.add_argument("--subset", type=int, default=5_000, help="items also run with the first tier off")
    ap.add_argument("--slices", type=int, default=10, help="turns the loop and verify_many take")
    ap.add_argument("--mixed-n", type=int, default=3000, help="normal items of the hang-share rows")
    ap.add_argument("--hang-share", type=float, default=0.1)
    ap.add_argument("--filter-batch", type=int, default=512, help="the filter stage's batch (its default)")
    ap.add_argument("--only-hang-share", action="store_true", help="skip the rows against the serial loop")
    ap.add_argument(
        "--hang-kind",
        choices=("tower", "factorial", "expansion"),
        default="tower",
        help="tower: the Math-Verify#65 family; factorial: (10^{k})! (both answered by the size check); "
        "expansion: (x+1)^{10^5}, which hangs sympy past the size check, so every one takes the pool's "
        "hard kill",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)

    from workers.verifiers.pool import close_shared_pool, shared_pool
    from workers.verifiers.verify import verify_many

    if args.only_hang_share:
        return hang_share(args)
    items = make(args.n, args.hang)
    rest = [i for i in items if i["kind"] != "hang"]
    combo = {"verifiers": [{"name": "math", "settings": {"timeout_s": args.timeout}}]}
    cores = os.cpu_count()

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    pool = shared_pool()
    pool.map("workers.verifiers.math:slow_check", [("1", "1", 6)] * pool.size, args.timeout)  # all ready
    t_start = time.perf_counter() - t0

    # The machine is shared: the loop and verify_many take turns on slices, so a change of load
    # falls on both alike.
    peer: list[bool] = []
    ours = []
    t_peer = t_ours = 0.0
    step = max(1, len(rest) // args.slices)
    for k in range(0, len(rest), step):
        part = rest[k : k + step]
        got_peer, t = peer_loop(part)
        peer += got_peer
        t_peer += t
        t0 = time.perf_counter()
        ours += verify_many(combo, part)
        t_ours += time.perf_counter() - t0

    # the pool's own share: the same verifier with every check sent to math-verify
    sub = rest[: args.subset]
    no_tier = {"verifiers": [{"name": "math", "settings": {"timeout_s": args.timeout, "first_tier": False}}]}
    _, t_peer_sub = peer_loop(sub)
    t0 = time.perf_counter()
    verify_many(no_tier, sub)
    t_no_tier = time.perf_counter() - t0

    statuses = Counter(v.status for v in ours)
    tiers = Counter(v.detail.get("tier", "-") for v in ours)
    agree: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    differ: Counter[tuple[str, str, str, bool]] = Counter()
    for item, v, p in zip(rest, ours, peer, strict=True):
        agree[item["kind"]][0] += v.passed is p
        agree[item["kind"]][1] += 1
        if v.passed is not p:
            differ[(item["reference"][:30], item["completion"][-40:].replace("\n", " "), v.status, p)] += 1

    # the hang family spread through normal items, through the same pool
    mixed = rest[: args.around]
    mixed_hang = [i for i in items if i["kind"] == "hang"]
    step = max(1, len(mixed) // (len(mixed_hang) + 1))
    for j, h in enumerate(mixed_hang):
        mixed.insert((j + 1) * step + j, h)
    expected = {id(i): v for i, v in zip(rest, ours, strict=True)}
    t0 = time.perf_counter()
    got = verify_many(combo, mixed)
    t_mixed = time.perf_counter() - t0
    hang_v = [v for i, v in zip(mixed, got, strict=True) if i["kind"] == "hang"]
    shifted = sum(
        1
        for i, v in zip(mixed, got, strict=True)
        if i["kind"] != "hang" and v.status != expected[id(i)].status
    )
    worst = max((v.duration_ms for v in hang_v), default=0.0) / 1000
    kills = pool.kills
    close_shared_pool()

    ratio = t_peer / t_ours
    print(f"math verifier throughput, {len(rest):,} items (+{len(mixed_hang)} hang family), {cores} cores")
    print(f"{'':34}{'seconds':>10}{'items/s':>12}")
    print(f"{'plain serial math_verify loop':34}{t_peer:>10.1f}{len(rest) / t_peer:>12,.0f}")
    print(f"{'verify_many (math, pooled)':34}{t_ours:>10.1f}{len(rest) / t_ours:>12,.0f}")
    print(
        f"first {len(sub):,} items, first tier off: {t_no_tier:.1f}s against the loop's {t_peer_sub:.1f}s "
        f"({t_peer_sub / t_no_tier:.2f}x: the pool and the extraction alone)"
    )
    print(f"pool start (once per process, not in the time above): {t_start:.2f}s")
    print(f"load average (1 min) before and after: {load_before:.1f}, {os.getloadavg()[0]:.1f}")
    print(f"verdicts: {dict(statuses)}")
    print(f"settled by: {dict(tiers)}")
    print("agreement with the plain loop's passed, by kind:")
    for kind, (same, n) in sorted(agree.items()):
        print(f"  {kind:16} {same / n:7.1%} of {n:,}")
    print("most frequent differences (reference, end of completion, ours, the loop's):")
    for key, n in differ.most_common(5):
        print(f"  {n:6,} x {key}")
    ok_hang = all(v.status == "timeout" for v in hang_v) and worst <= args.timeout + 1
    print(
        f"hang family: {sum(v.status == 'timeout' for v in hang_v)}/{len(hang_v)} answered timeout, "
        f"slowest {worst:.2f}s (limit {args.timeout + 1:.1f}s), {kills} workers killed; "
        f"{len(mixed) - len(hang_v):,} items around them, {shifted} with a different verdict; {t_mixed:.1f}s"
    )
    ok_ratio = ratio >= 1.8
    print(f"ratio: {ratio:.2f}x the serial loop (target >= 1.8x): {'PASS' if ok_ratio else 'FAIL'}")
    print(f"hard timeout: {'PASS' if ok_hang and shifted == 0 else 'FAIL'}; stalls: 0")
    return 0 if ok_ratio and ok_hang and shifted == 0 else 1


def hang_share(args: argparse.Namespace) -> int:
    """Throughput with a share of hang-family items against the same normal items alone, same pool."""
    from workers.verifiers.pool import close_shared_pool, shared_pool
    from workers.verifiers.verify import verify_many

    n_hang = round(args.mixed_n * args.hang_share / (1 - args.hang_share))
    mixed = make(args.mixed_n + n_hang, n_hang, seed=3)
    clean = [i for i in mixed if i["kind"] != "hang"]
    if args.hang_kind == "factorial":
        for k, i in enumerate(x for x in mixed if x["kind"] == "hang"):
            i["completion"] = f"The final answer is $\\boxed{{(10^{{{10 + k % 3}}})!}}$."
    if args.hang_kind == "expansion":
        for k, i in enumerate(x for x in mixed if x["kind"] == "hang"):
            i["completion"] = f"The final answer is $\\boxed{{(x+{1 + k % 3})^{{10^{{5}}}}}}$."
    combo = {"verifiers": [{"name": "math", "settings": {"timeout_s": args.timeout}}]}
    load_before = os.getloadavg()
    pool = shared_pool()
    pool.map("workers.verifiers.math:slow_check", [("1", "1", 6)] * pool.size, args.timeout)  # all ready

    def timed(items: list[dict], batch: int) -> tuple[list, float, float]:
        """Verdicts, seconds, and the longest wait between two batches (the filter stage's progress)."""
        out, gaps = [], []
        t0 = last = time.perf_counter()
        for k in range(0, len(items), batch):
            out += verify_many(combo, items[k : k + batch])
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        return out, time.perf_counter() - t0, max(gaps)

    rows = []
    for name, batch in (
        ("verify_many", len(mixed)),
        (f"filter stage ({args.filter_batch}/batch)", args.filter_batch),
    ):
        # clean, mixed, mixed, clean: a change of the shared machine's load falls on both alike
        detaches = pool.detaches
        got_clean, t_clean, gap_clean = timed(clean, batch)
        detaches_clean = pool.detaches - detaches
        kills = pool.kills
        got_mixed, t_mixed, gap_mixed = timed(mixed, batch)
        _, t2_mixed, gap2_mixed = timed(mixed, batch)
        kills = (pool.kills - kills) // 2
        detaches_mixed = (pool.detaches - detaches - detaches_clean) // 2
        _, t2_clean, gap2_clean = timed(clean, batch)
        detaches_clean += pool.detaches - detaches - detaches_clean - 2 * detaches_mixed
        t_clean, t_mixed = (t_clean + t2_clean) / 2, (t_mixed + t2_mixed) / 2
        rows.append((name, t_clean, max(gap_clean, gap2_clean), t_mixed, max(gap_mixed, gap2_mixed), kills))
        expected = iter(v.status for v in got_clean)
        shifted = sum(
            1
            for i, v in zip(mixed, got_mixed, strict=True)
            if i["kind"] != "hang" and v.status != next(expected)
        )
        hang_v = [v for i, v in zip(mixed, got_mixed, strict=True) if i["kind"] == "hang"]
        rows[-1] += (sum(v.status == "timeout" for v in hang_v), shifted, detaches_clean, detaches_mixed)
    close_shared_pool()

    print(
        f"math verifier, {len(clean):,} normal items alone and with {n_hang} hang-family items mixed in "
        f"({args.hang_share:.0%}, {args.hang_kind}), timeout {args.timeout:g}s, {pool.size} workers, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'':30}{'clean s':>9}{'items/s':>9}{'mixed s':>9}{'items/s':>9}{'ratio':>7}{'longest wait s':>16}"
    )
    ok = True
    for name, t_clean, gap_clean, t_mixed, gap_mixed, kills, timeouts, shifted, det_clean, det_mixed in rows:
        ratio = (len(mixed) / t_mixed) / (len(clean) / t_clean)
        ok &= ratio >= 0.5 and timeouts == n_hang and shifted == 0
        if "filter" in name:
            ok &= gap_mixed <= 5
        print(
            f"{name:30}{t_clean:>9.1f}{len(clean) / t_clean:>9.1f}{t_mixed:>9.1f}{len(mixed) / t_mixed:>9.1f}"
            f"{ratio:>7.2f}{gap_clean:>7.1f} /{gap_mixed:>6.1f}   ({timeouts}/{n_hang} timeout, "
            f"{kills} killed, detached {det_clean} clean / {det_mixed} mixed, {shifted} normal items with "
            "another verdict than alone)"
        )
    load = ", ".join(f"{a:.1f}" for a in load_before)
    print(f"load average (1, 5, 15 min) before: {load}; after: {os.getloadavg()[0]:.1f}")
    print(f"ratio = hang-mixed items/s over clean items/s (target >= 0.5): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
