"""The code verifier: the Python program in the answer against the prompt's tests, each run in the
bubblewrap sandbox, with a result per test.

Tests (an item's `tests`) are stdin/stdout pairs — `[{"input": .., "output": ..}]` or
`{"inputs": [..], "outputs": [..]}` — or assert-style: `{"asserts": ["assert f(1) == 2", ..]}`, a
list of such strings, or one string of test code; each assert test runs appended to the program.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from backend.verifiers.settings import CodeSettings
from workers.verifiers import extract, sandbox
from workers.verifiers.verdict import Item, Verdict, verdict

NAME, VERSION = "code", "1"
_FENCE = re.compile(r"```[ \t]*(\w*)[^\n]*\n(.*?)```", re.S)
_KILLED = {-9, 137, -24, 152}  # SIGKILL (CPU hard limit, memory) and SIGXCPU, raw or via bwrap


@dataclass(frozen=True)
class Test:
    stdin: str = ""
    expected: str | None = None  # None: an assert test, passed by exiting 0
    code: str = ""


def extract_program(text: str) -> str | None:
    """The last ```python block, else the last fenced block of any language."""
    blocks = _FENCE.findall(text)
    for lang, body in reversed(blocks):
        if lang.lower() in ("python", "py", "python3"):
            return body
    return blocks[-1][1] if blocks else None


def parse_tests(tests: Any) -> list[Test]:
    if isinstance(tests, str):
        return [Test(code=tests)] if tests.strip() else []
    if isinstance(tests, dict):
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


def run_test(program: str, test: Test, s: CodeSettings, sandboxed: bool) -> dict[str, Any]:
    limits = sandbox.Limits(s.timeout_s, s.cpu_s, s.memory_mb, s.max_processes, s.file_size_mb)
    code = program if test.expected is not None else program + "\n\n" + test.code + "\n"
    r = sandbox.run_python(code, test.stdin, limits, python=s.python, sandboxed=sandboxed)
    if r.status == "timeout":
        return {"status": "timeout", "limit": "wall"}
    if r.returncode in _KILLED:
        return {"status": "timeout", "limit": "cpu_or_memory", "exit": r.returncode}
    if r.returncode != 0 and test.expected is None and "AssertionError" in r.stderr[-2000:]:
        return {"status": "wrong", "stderr": r.stderr[-300:]}
    if r.returncode != 0:
        return {"status": "runtime_error", "exit": r.returncode, "stderr": r.stderr[-300:]}
    if test.expected is not None and not _same_output(r.stdout, test.expected):
        return {"status": "wrong", "stdout": r.stdout[:200]}
    return {"status": "passed"}


def verify_batch(items: list[Item], settings: CodeSettings) -> list[Verdict]:
    why = sandbox.probe(sandbox.bwrap_path())
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
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
        results = list(ex.map(lambda j: run_test(j[1], j[2], settings, sandboxed), jobs))
    per_item: dict[int, list[dict]] = {}
    for (i, _, _), r in zip(jobs, results, strict=True):
        per_item.setdefault(i, []).append(r)
    ms = (time.perf_counter() - started) * 1000 / max(1, len(per_item))
    for i, rs in per_item.items():
        statuses = {r["status"] for r in rs}
        passed = sum(r["status"] == "passed" for r in rs)
        if statuses == {"passed"}:
            status = "passed"
        elif statuses <= {"passed", "timeout"}:
            status = "timeout"
        else:
            status = "wrong"
        out[i] = verdict(
            NAME, VERSION, status, ms, score=passed / len(rs), tests=rs[:50], passed_tests=passed,
            total_tests=len(rs), sandbox="bwrap" if sandboxed else "none",
        )  # fmt: skip
    return [out[i] for i in range(len(items))]
