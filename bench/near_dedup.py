"""Near-duplicate detection at a million rows: our NearDeduper against datasketch and rensa.

The rows are bench/prompt_import.py's (20-200 words, 1% near duplicates made by changing one word of an
earlier row), with its exact duplicates taken out first, as the import's exact step does before the near
one. Every contestant sees the same rows, in order, with the same rule (Jaccard >= 0.8 on the sets of
word 5-shingles of the lower-cased, whitespace-split text; earlier rows win; a removed row is never
matched again) and LSH bands of 4 rows:

- ours: backend.prompts.dedup.near.NearDeduper (num_perm 64: 11 bands of 4), candidates checked on the
  shingle sets' 16-bit fingerprints; the input is the texts, so its word hashing is timed too.
- datasketch MinHashLSH (num_perm 64, params=(11, 4)) and rensa RMinHashLSH (num_perm 64, 16 bands of
  4: rensa wants num_perm divisible by the bands), each with the shingling a user of it writes in
  Python; a candidate counts when the library's own signature estimate of its Jaccard reaches 0.8.
- rensa256: the same index, candidates confirmed on a second rensa signature of 256 permutations (a
  closer estimate, for recall nearer an exact check).

Each contestant runs in its own process (peak RSS is its own); rounds alternate the contestants. Recall
is measured against exact Jaccard over a sample of `--sample` rows (the planted near duplicates, their
sources, and random rows): a row of the sample with an earlier sample row at Jaccard >= 0.8 should go.
Precision is the share of all removals, over the whole run, whose matched row really is at >= 0.8.
"LSH" figures count every candidate of the library's index, without the estimate.

    .venv/bin/python bench/near_dedup.py [--rows 1000000] [--peer-rows N] [--rounds 3] [--sample 4000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
THRESHOLD, SHINGLE, BATCH = 0.8, 5, 4096
CONTESTANTS = ("ours", "datasketch", "rensa", "rensa256")


def shingles(text: str) -> list[str]:
    w = text.lower().split()
    return [" ".join(w[i : i + SHINGLE]) for i in range(len(w) - SHINGLE + 1)] or [" ".join(w)]


def jaccard(a: str, b: str) -> float:
    x, y = set(shingles(a)), set(shingles(b))
    return len(x & y) / len(x | y) if x or y else 0.0


def prepare(path: Path, rows: int) -> tuple[list[str], list[str], list[int]]:
    """The near step's input: the rows without exact duplicates; with each row's kind and source."""
    from bench.prompt_import import dataset

    seen: set[str] = set()
    texts, kinds, sources, index = [], [], [], {}
    for i, (text, kind, source) in enumerate(dataset(rows)):
        key = " ".join(text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        index[i] = len(texts)
        texts.append(text)
        kinds.append(kind)
        sources.append(index.get(source, -1))
    path.write_text(json.dumps(texts))
    return texts, kinds, sources


def ours(texts: list[str]) -> tuple[np.ndarray, None]:
    from backend.prompts.dedup.near import NearDeduper

    d = NearDeduper(threshold=THRESHOLD, shingle=SHINGLE, num_perm=64)
    out = []
    for i in range(0, len(texts), BATCH):
        out += d.add_batch(range(i, i + len(texts[i : i + BATCH])), texts[i : i + BATCH])
    return np.array([-1 if m is None else m for m in out], np.int64), None


def _peer_loop(n: int, chunks, query, insert, estimate) -> tuple[np.ndarray, np.ndarray]:
    """The dedup loop a library user writes: query, keep the earliest candidate the estimate confirms,
    else insert. Also records, per row, whether the index gave any candidate at all (LSH alone)."""
    match, lsh = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    row = 0
    for sigs in chunks:
        for sig in sigs:
            cands = query(sig)
            if cands:
                lsh[row] = min(cands)
                good = [c for c in cands if estimate(row, sig, c) >= THRESHOLD]
                if good:
                    match[row] = min(good)
            if match[row] < 0:
                insert(row, sig)
            row += 1
    return match, lsh


def datasketch(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=64, params=(11, 4))
    kept = np.zeros((len(texts), 64), np.uint32)  # datasketch's hash values fit 32 bits

    def chunks():
        for i in range(0, len(texts), BATCH):
            yield MinHash.bulk([[s.encode() for s in shingles(t)] for t in texts[i : i + BATCH]], num_perm=64)

    def insert(row, m):
        lsh.insert(row, m, check_duplication=False)
        kept[row] = m.hashvalues

    def estimate(row, m, c):
        return float(np.count_nonzero(kept[c] == m.hashvalues)) / 64

    return _peer_loop(len(texts), chunks(), lsh.query, insert, estimate)


def rensa(texts: list[str], confirm_perm: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """confirm_perm: confirm candidates on a second, longer signature (rensa ties bands to num_perm)."""
    from rensa import RMinHash, RMinHashLSH

    lsh = RMinHashLSH(THRESHOLD, 64, 16)
    kept: dict[int, object] = {}

    def chunks():
        for i in range(0, len(texts), BATCH):
            sets = [shingles(t) for t in texts[i : i + BATCH]]
            sigs = RMinHash.from_token_sets(sets, 64, 42)
            if confirm_perm:
                sigs = zip(sigs, RMinHash.from_token_sets(sets, confirm_perm, 43), strict=True)
            yield sigs

    if not confirm_perm:

        def insert(row, m):
            lsh.insert(row, m)
            kept[row] = m

        return _peer_loop(len(texts), chunks(), lsh.query, insert, lambda row, m, c: m.jaccard(kept[c]))

    def insert2(row, pair):
        lsh.insert(row, pair[0])
        kept[row] = pair[1]

    query = lambda pair: lsh.query(pair[0])  # noqa: E731
    return _peer_loop(len(texts), chunks(), query, insert2, lambda row, p, c: p[1].jaccard(kept[c]))


def rensa256(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return rensa(texts, confirm_perm=256)


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(name: str, path: str, n: int, out: str) -> None:
    texts = json.loads(Path(path).read_text())[:n]
    try:  # reset the peak (Linux), so it is the contestant's and not json.loads's
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    base = _status_mib("VmRSS")
    t0 = time.perf_counter()
    match, lsh = globals()[name](texts)
    seconds = time.perf_counter() - t0
    peak = _status_mib("VmHWM")
    np.save(out, np.stack([match, match if lsh is None else lsh]))
    print(json.dumps({"seconds": seconds, "rss_mib": peak, "rss_after_load_mib": base}))


def truth_sample(texts, kinds, sources, size: int, rng: random.Random) -> tuple[list[int], set[int]]:
    """A sample of rows and which of them have an earlier sample row at Jaccard >= THRESHOLD (exact,
    every pair that shares a shingle is compared; the others are at 0)."""
    planted = [i for i, k in enumerate(kinds) if k == "near" and sources[i] >= 0]
    picked = set(rng.sample(planted, min(len(planted), size // 3)))
    picked |= {sources[i] for i in picked}
    rest = [i for i in range(len(texts)) if i not in picked]
    picked |= set(rng.sample(rest, min(len(rest), max(0, size - len(picked)))))
    sample = sorted(picked)
    by_shingle: dict[str, list[int]] = defaultdict(list)
    dups = set()
    for r in sample:
        mine = set(shingles(texts[r]))
        shared: dict[int, int] = defaultdict(int)
        for s in mine:
            for other in by_shingle[s]:
                shared[other] += 1
            by_shingle[s].append(r)
        sizes = {o: len(set(shingles(texts[o]))) for o in shared}
        if any(k / (len(mine) + sizes[o] - k) >= THRESHOLD for o, k in shared.items()):
            dups.add(r)
    return sample, dups


def score(match: np.ndarray, texts: list[str], sample: list[int], dups: set[int]) -> tuple[float, float]:
    n = match.size
    want = [r for r in sample if r < n and r in dups]
    recall = sum(match[r] >= 0 for r in want) / max(1, len(want))
    removed = np.flatnonzero(match >= 0).tolist()
    right = sum(jaccard(texts[r], texts[int(match[r])]) >= THRESHOLD for r in removed)
    return recall, right / max(1, len(removed))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--peer-rows", type=int, help="rows for the peers (default: all); rates extrapolate")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sample", type=int, default=4000)
    ap.add_argument("--only", nargs="+", choices=CONTESTANTS, default=list(CONTESTANTS))
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3])
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        texts, kinds, sources = prepare(path, args.rows)
        sample, dups = truth_sample(texts, kinds, sources, args.sample, random.Random(11))
        print(f"{len(texts):,} rows after exact dedup (of {args.rows:,}); sample of {len(sample):,} rows, ")
        print(f"{len(dups):,} of them with an earlier sample row at Jaccard >= {THRESHOLD}")
        runs: dict[str, list[dict]] = defaultdict(list)
        for rnd in range(args.rounds):
            for name in args.only:
                n = len(texts) if name == "ours" or not args.peer_rows else min(args.peer_rows, len(texts))
                out = Path(tmp) / f"{name}.npy"
                cmd = [sys.executable, __file__, "--child", name, str(path), str(n), str(out)]
                res = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                res["us_row"] = res["seconds"] / n * 1e6
                if rnd == 0:  # the results are deterministic: score them once
                    match, lsh = np.load(out)
                    res["recall"], res["precision"] = score(match, texts, sample, dups)
                    res["lsh_recall"], res["lsh_precision"] = score(lsh, texts, sample, dups)
                    res["removed"] = int((match >= 0).sum())
                res["n"] = n
                runs[name].append(res)
                secs, us = res["seconds"], res["us_row"]
                print(f"  round {rnd + 1} {name:<11} {n:>9,} rows {secs:7.1f}s {us:6.1f} us/row")
    report(runs)


def report(runs: dict[str, list[dict]]) -> None:
    print(f"\n{'contestant':<12}{'rows':>10}{'us/row med':>11}{'range':>14}{'rows/s':>10}{'recall':>8}"
          f"{'precis.':>8}{'LSH rec.':>9}{'LSH prec.':>10}{'removed':>9}{'peak RSS':>10}")  # fmt: skip
    med = {}
    for name, rs in runs.items():
        us = [r["us_row"] for r in rs]
        med[name] = statistics.median(us)
        f = rs[0]
        print(
            f"{name:<12}{f['n']:>10,}{med[name]:>11.1f}{f'{min(us):.1f}-{max(us):.1f}':>14}"
            f"{1e6 / med[name]:>10,.0f}{f['recall']:>8.3f}{f['precision']:>8.3f}{f['lsh_recall']:>9.3f}"
            f"{f['lsh_precision']:>10.3f}{f['removed']:>9,}{max(r['rss_mib'] for r in rs):>8.0f} MiB"
        )
    if "ours" in runs:
        for name, rs in runs.items():
            if name != "ours":  # per round: the two ran back to back
                ratios = [p["us_row"] / o["us_row"] for o, p in zip(runs["ours"], rs, strict=False)]
                print(f"speed ours/{name}: median {statistics.median(ratios):.2f}x "
                      f"(rounds {', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip
    print("peak RSS includes the texts loaded (RSS before the contestant started: " + ", ".join(
        f"{n} {rs[0]['rss_after_load_mib']:.0f} MiB" for n, rs in runs.items()) + ")")  # fmt: skip


if __name__ == "__main__":
    main()
