"""The suite's layout contracts (docs/testing.md): no module under tests/ imports a test module or a
conftest (what tests share lives in tests/support, fixtures in a conftest), and the pure lane needs
neither PostgreSQL nor Redis."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every module and name `source` imports, relative ones resolved from the
    package it lives in."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def _offences(path: Path, source: str | None = None) -> list[str]:
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    out = []
    for line, name in _imported_modules(path.read_text() if source is None else source, package):
        parts = name.split(".")
        if parts[0] != "tests":
            continue
        if "conftest" in parts or any(p.startswith("test_") for p in parts):
            out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


def test_no_module_imports_a_test_module_or_a_conftest():
    # every module: test modules, helpers, fakes and the conftests themselves
    offences = [o for p in sorted(TESTS.rglob("*.py")) for o in _offences(p)]
    assert not offences, "move what is shared into tests/support (fixtures into a conftest):\n" + "\n".join(
        offences
    )


def test_the_check_sees_each_kind_of_import():
    """The check above must be able to fail: absolute, relative and from-conftest imports all count."""
    source = (
        "from tests.conftest import x\nfrom .test_rollout import y\nimport tests.workers.test_rollout\n"
        "from . import conftest\nfrom tests.support.env import ROOT\n"
    )
    got = _offences(TESTS / "workers" / "test_probe.py", source)
    assert [g.split(" imports ")[1] for g in got] == [
        "tests.conftest",
        "tests.conftest.x",
        "tests.workers.test_rollout",
        "tests.workers.test_rollout.y",
        "tests.workers.test_rollout",
        "tests.workers.conftest",
    ]


@pytest.mark.slow  # a pytest subprocess with the services pointed nowhere
def test_a_pure_module_runs_with_postgresql_and_redis_unreachable():
    """Port 9 (discard) refuses on loopback: nothing is listening where the conftest is told to look."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DISTILLERY_TEST_PG": "postgresql://postgres@127.0.0.1:9/postgres",
        "DISTILLERY_TEST_REDIS": "redis://127.0.0.1:9/14",
    }
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_core_stats.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert " passed" in r.stdout and "error" not in r.stdout.splitlines()[-1]
