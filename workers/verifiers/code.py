"""The code verifier: the Python program in the answer against the prompt's tests, each run in the
bubblewrap sandbox, with a result per test.

Tests (an item's `tests`) are stdin/stdout pairs — `[{"input": .., "output": ..}]` or
`{"inputs": [..], "outputs": [..]}` — or assert-style: `{"asserts": ["assert f(1) == 2", ..]}`, a
list of such strings, or one string of test code — or HumanEval's form, `{"check": "def check(candidate):
...", "entry_point": "f", "setup": <the prompt's code, optional>}` (the tests call setup's helpers, never
the answer's versions of them). A stdin/stdout test passes when the program exits 0 with that output; assert
and check tests run in harness.py, apart from the answer's process, and pass only on the harness's
report after the last test (an exit code or anything the answer prints never counts).

A failure of the sandbox itself (bwrap could not fork or make a namespace) is retried, then recorded as
`error`: never as a verdict on the answer.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from backend.verifiers.settings import CodeSettings
from workers.verifiers import extract, sandbox
from workers.verifiers.verdict import Item, Status, Verdict, verdict

NAME, VERSION = "code", "1"
_LANG = re.compile(r"[ \t]*(\w*)")
_KILLED = {-9, 137, -24, 152}  # SIGKILL (CPU hard limit, memory) and SIGXCPU, raw or via bwrap


@dataclass(frozen=True)
class Test:
    stdin: str = ""
    expected: str | None = None  # None: a harness test (assert code, or check(entry_point))
    code: str = ""
    entry_point: str | None = None
    setup: str | None = None  # trusted code from the prompt the tests may call (HumanEval's prompt)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order: ``` then a language word on the rest of that
    line, the body up to the next ```. Scanned by hand: the regex that did this was quadratic in fences
    with no line after them, in the worker's own process."""
    out: list[tuple[str, str]] = []
    i = 0
    while (start := text.find("```", i)) >= 0:
        line_end = text.find("\n", start + 3)
        if line_end < 0:
            break
        end = text.find("```", line_end + 1)
        if end < 0:  # no later fence can close either: each needs a ``` after this line
            break
        lang = _LANG.match(text, start + 3, line_end)  # always a match: all of _LANG is optional
        out.append((lang.group(1) if lang else "", text[line_end + 1 : end]))
        i = end + 3
    return out


def extract_program(text: str) -> str | None:
    """The last ```python block, else the last fenced block of any language."""
    blocks = fenced_blocks(text)
    for lang, body in reversed(blocks):
        if lang.lower() in ("python", "py", "python3"):
            return body
    return blocks[-1][1] if blocks else None


def parse_tests(tests: Any) -> list[Test]:
    if isinstance(tests, str):
        return [Test(code=tests)] if tests.strip() else []
    if isinstance(tests, dict):
        if "check" in tests:
            entry = tests.get("entry_point")
            if not isinstance(tests["check"], str) or not isinstance(entry, str) or not entry.isidentifier():
                raise ValueError("check tests need the test code and an entry_point naming the function")
            setup = tests.get("setup")
            if setup is not None and not isinstance(setup, str):
                raise ValueError("a check test's setup is code (a string)")
            return [Test(code=tests["check"], entry_point=entry, setup=setup)]
        if "asserts" in tests:
            return parse_tests(list(tests["asserts"]))
        ins, outs = tests.get("inputs"), tests.get("outputs")
        if isinstance(ins, list) and isinstance(outs, list) and len(ins) == len(outs):
            return [Test(stdin=str(i), expected=str(o)) for i, o in zip(ins, outs, strict=True)]
        raise ValueError("tests need inputs and outputs lists of one length, or asserts")
    if isinstance(tests, list):
        out = []
        for t in tests:
            if isinstance(t, str):
                out.append(Test(code=t))
            elif isinstance(t, dict) and ("output" in t or "stdout" in t):
                out.append(
                    Test(
                        stdin=str(t.get("input", t.get("stdin", ""))),
                        expected=str(t.get("output", t.get("stdout"))),
                    )
                )
            else:
                raise ValueError(f"not a test: {str(t)[:100]}")
        return out
    return []


def _same_output(actual: str, expected: str) -> bool:
    def lines(s: str) -> list[str]:
        return [line.rstrip() for line in s.strip().splitlines()]

    return lines(actual) == lines(expected)


RETRIES = (0.2, 0.5, 1.0)  # back-off between tries when the sandbox itself fails


def _limits(s: CodeSettings, timeout_s: float) -> sandbox.Limits:
    return sandbox.Limits(timeout_s, s.cpu_s, s.memory_mb, s.max_processes, s.file_size_mb, s.disk_mb)


def _retrying(run) -> sandbox.RunResult:
    for pause in (*RETRIES, None):
        r = run()
        if r.failure is None or pause is None:
            return r
        time.sleep(pause)
    raise AssertionError("unreachable")


def run_io_test(program: str, test: Test, s: CodeSettings, sandboxed: bool) -> dict[str, Any]:
    r = _retrying(
        lambda: sandbox.run_python(
            program, test.stdin, _limits(s, s.timeout_s), python=s.python, sandboxed=sandboxed
        )
    )
    if r.failure:
        return {"status": "error", "error": r.failure}
    if r.status == "timeout":
        return {"status": "timeout", "limit": "wall"}
    if r.returncode in _KILLED:
        return {"status": "timeout", "limit": "cpu_or_memory", "exit": r.returncode}
    if r.returncode != 0:
        return {"status": "runtime_error", "exit": r.returncode, "stderr": r.stderr[-300:]}
    if not _same_output(r.stdout, test.expected or ""):
        return {"status": "wrong", "stdout": r.stdout[:200]}
    return {"status": "passed"}


BATCH = 16  # answers per harness sandbox: one bwrap and one harness interpreter for all of them


def run_harness_batch(
    batch: list[tuple[str, list[Test]]], s: CodeSettings, sandboxed: bool
) -> list[list[dict]]:
    """Each answer's assert or check tests, answers in turn in one sandbox through harness.py; per
    answer, a result per test. If the harness is stopped (an answer killed it), the answer it was on
    fails and the ones after it run again in a fresh sandbox: one answer never decides another's."""
    specs = [
        {"tests": [t.code for t in tests], "entry_point": tests[0].entry_point, "setup": tests[0].setup,
         "timeout_s": s.timeout_s}
        for _, tests in batch
    ]  # fmt: skip
    # each test has timeout_s inside the harness; the sandbox's wall clock covers them all
    wall = s.timeout_s * sum(len(tests) + 1 for _, tests in batch) + 5
    programs = [program for program, _ in batch]
    r = _retrying(
        lambda: sandbox.run_harness(programs, specs, _limits(s, wall), python=s.python, sandboxed=sandboxed)
    )
    if r.failure:
        return [[{"status": "error", "error": r.failure}] * len(tests) for _, tests in batch]
    done: dict[int, list[dict]] = {}
    started: set[int] = set()
    for line in (r.report or "").splitlines():
        try:
            got = json.loads(line)
            if "started" in got:
                started.add(int(got["started"]))
                continue
            results = got["results"]
            if len(results) == len(batch[got["item"]][1]):
                done[got["item"]] = [{k: v for k, v in x.items() if k in ("status", "error", "limit")}
                                     for x in results]  # fmt: skip
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            continue
    out: list[list[dict]] = []
    for k, (_, tests) in enumerate(batch):
        if k in done:
            out.append(done[k])
            continue
        if k not in started:
            # the harness stopped before answer k began: k is not to blame. After k - 1 (killed in the
            # clean-up, where that answer's daemon could still reach it) k and the rest run again; before
            # the first answer no answer's code had run, so it is the sandbox's failure, never a verdict
            if k > 0:
                out += run_harness_batch(batch[k:], s, sandboxed)
            else:
                why = f"the sandbox stopped before its first answer ran (exit {r.returncode}, {r.status})"
                out += [[{"status": "error", "error": why}] * len(t) for _, t in batch]
            break
        # the harness stopped on answer k: no report for it is never a pass; the rest run again
        if r.status == "timeout":
            out.append([{"status": "timeout", "limit": "wall"}] * len(tests))
        else:
            why = f"the harness was stopped before reporting (exit {r.returncode})"
            out.append([{"status": "runtime_error", "error": why}] * len(tests))
        if k + 1 < len(batch):
            out += run_harness_batch(batch[k + 1 :], s, sandboxed)
        break
    return out


def verify_batch(items: list[Item], settings: CodeSettings) -> list[Verdict]:
    why = sandbox.probe(sandbox.bwrap_path(), settings.python)
    if why and not settings.allow_unsandboxed:
        raise sandbox.SandboxUnavailable(f"the code verifier refuses to run unsandboxed: {why}")
    sandboxed = why is None
    if not settings.python.startswith("/usr/") and sandboxed:
        raise ValueError(f"the sandbox binds only /usr; {settings.python} is outside it")
    out: dict[int, Verdict] = {}
    jobs: list[tuple[int, str, Test]] = []
    for i, item in enumerate(items):
        program = extract_program(extract.split_reasoning(item.completion, item.reasoning).answer)
        try:
            tests = parse_tests(item.tests)[: settings.max_tests]
        except ValueError as exc:
            out[i] = verdict(NAME, VERSION, "reference_unparseable", reason=str(exc))
            continue
        if not tests:
            out[i] = verdict(NAME, VERSION, "reference_unparseable", reason="no tests")
        elif program is None:
            out[i] = verdict(NAME, VERSION, "unparseable", reason="no fenced code block in the answer")
        else:
            jobs += [(i, program, t) for t in tests]
    started = time.perf_counter()
    io_runs: list[tuple[int, str, Test]] = []  # one sandbox per stdin/stdout test
    harness: dict[int, tuple[str, list[Test]]] = {}  # per answer: its assert / check tests
    for i, program, t in jobs:
        if t.expected is None:
            harness.setdefault(i, (program, []))[1].append(t)
        else:
            io_runs.append((i, program, t))
    workers = os.cpu_count() or 1
    order = list(harness)
    size = max(1, min(BATCH, -(-len(order) // workers)))  # every worker busy, batches of at most BATCH
    batches = [order[k : k + size] for k in range(0, len(order), size)]

    def one(run) -> list[tuple[int, list[dict]]]:
        if run[0] == "io":
            _, i, program, test = run
            return [(i, [run_io_test(program, test, settings, sandboxed)])]
        ids = run[1]
        results = run_harness_batch([harness[i] for i in ids], settings, sandboxed)
        return list(zip(ids, results, strict=True))

    runs = [("batch", ids) for ids in batches] + [("io", *r) for r in io_runs]
    per_item: dict[int, list[dict]] = {}
    with ThreadPoolExecutor(max_workers=workers) as ex:
        for pairs in ex.map(one, runs):
            for i, rs in pairs:
                per_item.setdefault(i, []).extend(rs)
    ms = (time.perf_counter() - started) * 1000 / max(1, len(per_item))
    for i, rs in per_item.items():
        statuses = {r["status"] for r in rs}
        passed = sum(r["status"] == "passed" for r in rs)
        status: Status
        if statuses == {"passed"}:
            status = "passed"
        elif statuses - {"passed", "timeout", "error"}:
            status = "wrong"  # a test ran and failed: that much is a verdict
        elif "error" in statuses:
            status = "error"  # the sandbox failed: retried, then counted apart, never `wrong`
        else:
            status = "timeout"
        out[i] = verdict(
            NAME, VERSION, status, ms, score=passed / len(rs), tests=rs[:50], passed_tests=passed,
            total_tests=len(rs), sandbox="bwrap" if sandboxed else "none",
        )  # fmt: skip
    return [out[i] for i in range(len(items))]
