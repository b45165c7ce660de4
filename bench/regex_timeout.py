"""How long a catastrophic regex takes to answer `timeout`: the regex verifier (checks in the hard-timeout
pool, SIGKILLed at timeout_s) against the `regex` module's own timeout (the peer), same pattern, same
text, same limit, alternating, in one run.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/regex_timeout.py [--rounds 5] [--timeout 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import time

PATTERN, TEXT = r"(a|aa)+$", "a" * 5000 + "b"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=1.0)
    args = ap.parse_args()
    import regex

    from backend.verifiers.settings import RegexSettings
    from workers.verifiers.exact import verify_regex
    from workers.verifiers.pool import shared_pool
    from workers.verifiers.verdict import Item

    settings = RegexSettings(pattern=PATTERN, timeout_s=args.timeout)
    verify_regex([Item("warm-up")], settings)  # the pool's workers start (and load sympy) first
    ours, peer = [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        assert verify_regex([Item(TEXT)], settings)[0].status == "timeout"
        ours.append(time.perf_counter() - t)
        time.sleep(1.0)  # the killed pool worker is replaced in the background
        t = time.perf_counter()
        try:
            regex.compile(PATTERN).search(TEXT, timeout=args.timeout)
        except TimeoutError:
            pass
        peer.append(time.perf_counter() - t)
    shared_pool().close()
    for name, xs in (("verifier (pool kill)", ours), ("regex module timeout", peer)):
        print(f"{name}: median {statistics.median(xs):.2f} s (range {min(xs):.2f}-{max(xs):.2f}) for a "
              f"{args.timeout:g} s limit")  # fmt: skip
    print(f"overrun ratio peer/ours: {statistics.median(peer) / statistics.median(ours):.2f}")


if __name__ == "__main__":
    main()
