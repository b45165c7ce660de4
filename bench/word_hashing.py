"""Word hashing of one huge token against the same bytes as ordinary words (issue 15, item 1).

The peer is the common case measured in the same run: a text of the same size cut into 8-letter words.
Linear hashing keeps the ratio near 1 whatever the size; the quadratic loop it replaced reached 50x at
200 KB and minutes at 1 MB.

    PYTHONPATH=$PWD python bench/word_hashing.py --sizes 100000,1000000,5000000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from backend.prompts.dedup.hashing import word_hashes


def _seconds(texts: list[str]) -> float:
    t0 = time.perf_counter()
    word_hashes(texts)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,5000000", help="token lengths in bytes")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print("| bytes | one token s (median) | words s (median) | ratio token/words (median) |")
    print("|---|---|---|---|")
    for size in map(int, args.sizes.split(",")):
        token = ["Zm9vYmFy" * (size // 8)]
        words = [" ".join(["abcdefgh"] * (size // 9))]
        a, b, r = [], [], []
        for _ in range(args.rounds):
            a.append(_seconds(token))
            b.append(_seconds(words))
            r.append(a[-1] / b[-1])
        med = [statistics.median(x) for x in (a, b, r)]
        print(f"| {size:,} | {med[0]:.3f} | {med[1]:.3f} | {med[2]:.2f} |")


if __name__ == "__main__":
    main()
