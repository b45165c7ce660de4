"""The math verifier: extraction forms, the first tier, math-verify behind it, the hard timeout on an
input that hangs sympy, and references that do not parse."""

from __future__ import annotations

import os
import signal
import time

import pytest

from workers.verifiers import extract, first_tier
from workers.verifiers.math import reference_parses, references_parse
from workers.verifiers.pool import HardTimeoutPool, close_shared_pool
from workers.verifiers.verify import verify_many

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

HANG = r"\dfrac{5^{\left(5^{\left(5^{\left(5^5\right)}\right)} - 4\right)} - 5}{16}"  # Math-Verify#65
SLOW = r"(x+1)^{10^{5}}"  # hangs sympy too (the expansion), though no number is too big: the pool's kill


@pytest.fixture(scope="module", autouse=True)
def _pool():
    yield
    close_shared_pool()


def math(items, **settings):
    return verify_many({"verifiers": [{"name": "math", "settings": settings}]}, items)


@pytest.mark.parametrize(
    ("text", "answer", "form"),
    [
        (r"so $\boxed{1}$ then \boxed{\frac{1}{2}}.", r"\frac{1}{2}", "boxed"),
        ("Natalia sold 48+24 = 72 clips.\n#### 72", "72", "gsm8k"),
        ("The final answer is $18$. I hope it is correct.", "$18$", "final_answer"),
        ("Working...\nAnswer: 3/4", "3/4", "answer_line"),
        (r"\boxed 7 is it", "7", "boxed"),
    ],
)
def test_extraction_forms(text, answer, form):
    assert extract.extract_answer(text) == (answer, form)


def test_answer_is_taken_after_the_reasoning():
    items = [{"completion": r"<think>maybe \boxed{5}?</think>It is \boxed{6}.", "reference": "6"}]
    assert math(items)[0].status == "passed"
    cut = [{"completion": r"<think>maybe \boxed{5}", "reference": "5"}]
    v = math(cut)[0]
    assert v.status == "unparseable" and v.detail["reason"] == "cut off inside the reasoning"


def test_numeric_references_from_json_and_bad_items():
    assert math([{"completion": "#### 72", "reference": 72}])[0].status == "passed"
    with pytest.raises(ValueError, match="completion"):
        math([{"reference": "1"}])
    with pytest.raises(ValueError, match="reference"):
        math([{"completion": "1", "reference": ["1"]}])


def test_reasoning_field_and_letters():
    v = math([{"completion": "Answer: (C)", "reasoning": "C fits", "reference": "C"}])[0]
    assert (v.status, v.detail["tier"]) == ("passed", "letter")
    assert math([{"completion": "The answer is (B).", "reference": "(C)"}])[0].status == "wrong"
    assert math([{"completion": "no letter at all here", "reference": "D"}])[0].status == "unparseable"


@pytest.mark.parametrize(
    ("answer", "reference", "decision"),
    [
        ("1,234,567", "1234567", "passed"),
        ("1{,}000", "1000", "passed"),
        (r"\dfrac{3}{4}", "0.75", "passed"),
        ("3/4", r"\frac34", "passed"),
        (r"25\%", "25", "passed"),
        ("50%", r"\frac{1}{2}", "passed"),
        (r"$\text{x = } 12$", "12", "passed"),
        ("-7", "7", "wrong"),
        ("0.5", "0.25", "wrong"),
        ("0.3333333", r"\frac{1}{3}", None),  # equal once rounded: math-verify's call
        (r"\sqrt{2}", r"\frac{2}{\sqrt{2}}", None),
    ],
)
def test_first_tier(answer, reference, decision):
    assert first_tier.decide(answer, reference) == decision


def test_first_tier_settles_numbers_and_math_verify_the_rest():
    vs = math(
        [
            {"completion": r"\boxed{1,000}", "reference": "1000"},
            {"completion": r"\boxed{x^2+2x+1}", "reference": "(x+1)^2"},
            {"completion": r"\boxed{\frac{\sqrt{2}}{2}}", "reference": r"\frac{1}{\sqrt{2}}"},
            {"completion": r"\boxed{x^2+1}", "reference": "(x+1)^2"},
        ]
    )
    assert [(v.status, v.detail["tier"]) for v in vs] == [
        ("passed", "first"),
        ("passed", "math_verify"),
        ("passed", "math_verify"),
        ("wrong", "math_verify"),
    ]
    assert math([{"completion": r"\boxed{x^2+2x+1}", "reference": "(x+1)^2"}], first_tier=False)[0].passed


@pytest.mark.slow  # waits out hard timeouts
def test_hang_input_times_out_and_the_pool_keeps_answering():
    items = [
        {"completion": r"\boxed{\sqrt{4}}", "reference": "2"},
        {"completion": rf"The final answer is $\boxed{{{SLOW}}}$.", "reference": "3"},
        {"completion": r"\boxed{\sqrt{9}}", "reference": "3"},
        {"completion": r"\boxed{\sqrt{9}}", "reference": "4"},
    ]
    vs = math(items, timeout_s=1.5)
    assert [v.status for v in vs] == ["passed", "timeout", "passed", "wrong"]
    assert vs[1].passed is None and vs[1].detail == {"timeout_s": 1.5}
    assert [v.status for v in math(items[2:], timeout_s=1.5)] == ["passed", "wrong"]


_QUEUED_BEHIND_A_HANG = r"""
import json
from workers.verifiers.verify import verify_many
HANG = %r
long = r"\text{" + "a" * 8000 + "}"  # 16 KB an item: a few queued on one worker pass 64 KiB
items = [{"completion": rf"$\boxed{{{HANG}}}$", "reference": "3"}]
items += [{"completion": rf"$\boxed{{{long}}}$", "reference": long} for _ in range(40)]
combo = {"verifiers": [{"name": "math", "settings": {"timeout_s": 2, "first_tier": False}}]}
print(json.dumps([v.status for v in verify_many(combo, items)]))
"""


@pytest.mark.slow  # waits out hard timeouts
def test_a_hang_with_more_than_a_pipe_buffer_queued_behind_it_is_still_killed():
    """The pool wrote batches to a worker stuck on a hang until the pipe (64 KiB) was full, then
    blocked in write() and never reached the deadline that kills the worker: no verdict, ever (each
    answer of the other worker sent the stuck one another batch). Run in a subprocess with a guard, so
    it fails rather than hangs."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "DISTILLERY_VERIFY_WORKERS": "2"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _QUEUED_BEHIND_A_HANG % SLOW],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("no verdicts within 90 s: the pool blocked on a pipe to the stuck worker")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["timeout"] + ["passed"] * 40


@pytest.mark.slow  # a fresh interpreter and 41 answers
def test_a_power_too_big_for_sympy_is_a_timeout_at_once():
    """The Math-Verify#65 family (a power tower sympy would compute exactly) is answered `timeout`
    without running math-verify, instead of taking a worker for the whole timeout; powers sympy
    computes in time are compared as before."""
    from workers.verifiers.pool import shared_pool

    kills = shared_pool().kills
    items = [
        {"completion": rf"The final answer is $\boxed{{{HANG}}}$.", "reference": "3"},
        {"completion": r"$\boxed{9^{9^{9}}}$", "reference": "9"},
        {"completion": r"$\boxed{2^{2^{2^{2}}}}$", "reference": "65536"},
        {"completion": r"$\boxed{2^{2^{10}}}$", "reference": "4^{512}"},
        # the family's other members: base 2 (one bit, yet 2^{2^{100}} is not small), factorials
        {"completion": r"$\boxed{2^{2^{100}}}$", "reference": "2"},
        {"completion": r"$\boxed{(10^{10})!}$", "reference": "6"},
        {"completion": r"$\boxed{(2^{64})!!}$", "reference": "6"},
        {"completion": r"$\boxed{\Gamma(10^{10})}$", "reference": "6"},
        {"completion": r"$\boxed{3!}$", "reference": "6"},
        {"completion": r"$\boxed{\binom{10}{3}}$", "reference": "120"},
    ]
    vs = math(items, timeout_s=10, first_tier=False)
    assert [v.status for v in vs] == ["timeout", "timeout", "passed", "passed"] + ["timeout"] * 4 + [
        "passed"
    ] * 2
    assert vs[0].passed is None and vs[0].detail["tier"] == "too_big"
    assert shared_pool().kills == kills


def test_pool_replaces_a_killed_worker_and_keeps_order():
    pool = HardTimeoutPool(1)
    try:
        out = pool.map("time:sleep", [(0,), (30,), (0,), (0,)], 0.5)
        assert [o.status for o in out] == ["ok", "timeout", "ok", "ok"]
        assert pool.kills == 1 and pool.restarts == 1
        bad = pool.map("math:sqrt", [(4,), (-1,)], 5)
        assert bad[0] == ("ok", 2.0, bad[0].duration_ms) and bad[1].status == "error"
        died = pool.map("os:_exit", [(1,)], 5)
        assert died[0].status == "error" and "died" in died[0].value
        assert pool.map("math:sqrt", [(9,)], 5)[0].value == 3.0
    finally:
        pool.close()


@pytest.mark.slow  # waits out hard timeouts
def test_checks_queued_behind_a_busy_hang_go_to_a_new_worker():
    """A check that has used stall_s of CPU holds nothing else up: what was queued behind it goes to a
    worker started in its place, and only it is answered `timeout`, at its own deadline."""
    pool = HardTimeoutPool(1, stall_s=0.2)
    try:
        out = pool.map("math:factorial", [(10**9,), (5,), (6,), (7,)], 8)  # 0.2 s of CPU even when loaded
        assert [o.status for o in out] == ["timeout", "ok", "ok", "ok"]
        assert [o.value for o in out[1:]] == [120, 720, 5040]
        assert pool.detaches == 1 and pool.kills == 1 and pool.restarts == 1 and len(pool._workers) == 1
        assert pool.map("math:sqrt", [(9,)], 5)[0].value == 3.0
    finally:
        pool.close()


def test_a_watched_map_reports_while_it_waits_and_stops_on_what_the_watch_raises():
    """The filter stage's cancel check runs inside a long batch: what the watch raises ends the map, and
    the worker left on a check is replaced, so the pool answers the next map."""
    from workers.verifiers.pool import watched

    class Stop(Exception):
        pass

    seen: list[tuple[int, int]] = []

    def watch(done: int, total: int) -> None:
        seen.append((done, total))
        if done:  # the quick check answered, the other one still running
            raise Stop

    pool = HardTimeoutPool(1)
    try:
        with watched(watch, every_s=0.1), pytest.raises(Stop):
            pool.map("time:sleep", [(0,), (30,)], 60)
        assert seen[-1] == (1, 2)
        assert pool.map("math:sqrt", [(16,)], 5)[0].value == 4.0 and pool.restarts == 1
    finally:
        pool.close()


def test_a_pool_made_on_a_thread_that_ended_keeps_answering():
    """Workers die with the thread that started them (PR_SET_PDEATHSIG); a pool first used from
    asyncio.to_thread, as the adaptive rollout does, lost its workers when that thread ended, and the
    next check in the process failed with BrokenPipeError."""
    import threading

    made: list[HardTimeoutPool] = []
    t = threading.Thread(target=lambda: made.append(HardTimeoutPool(2)))
    t.start()
    t.join()
    pool = made[0]
    try:
        assert [o.value for o in pool.map("math:sqrt", [(4,), (9,), (16,)], 5)] == [2.0, 3.0, 4.0]
        time.sleep(0.5)  # had the workers died with the thread, they would be gone by now
        assert all(w.proc.poll() is None for w in pool._workers)
        assert pool.restarts == 0
        # a worker killed from outside while idle is replaced at the next map, its checks answered
        os.kill(pool._workers[0].proc.pid, signal.SIGKILL)
        pool._workers[0].proc.wait()
        assert [o.value for o in pool.map("math:sqrt", [(i * i,) for i in range(20)], 5)] == [
            float(i) for i in range(20)
        ]
        assert pool.restarts == 1
    finally:
        pool.close()


def test_unparseable_reference_is_flagged_not_wrong():
    vs = math(
        [
            {"completion": r"\boxed{3}", "reference": "see the proof above"},
            {"completion": r"\boxed{3}", "reference": ""},
        ]
    )
    assert [v.status for v in vs] == ["reference_unparseable", "reference_unparseable"]
    assert all(v.passed is None for v in vs)


def test_reference_parses_for_import_statistics():
    assert references_parse(["42", "#### 1,000", r"\frac{\sqrt{3}}{2}", "(B)", "the proof", None, ""]) == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert reference_parses(r"Since $x=2$, we get \boxed{x^2}.")
