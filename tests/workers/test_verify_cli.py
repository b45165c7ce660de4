"""`distillery verify`: JSON Lines verdicts on stdout, a summary on stderr, clear refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.pure, pytest.mark.slow]  # no services; the CLI in processes of its own

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "verify", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_writes_one_verdict_per_line(tmp_path):
    f = tmp_path / "answers.jsonl"
    rows = [
        {"completion": r"<think>2+2</think>\boxed{4}", "reference": "4"},
        {"completion": "#### 5", "reference": "4"},
        {"completion": r"\boxed{x^2+2x+1}", "reference": "(x+1)^2"},
        {"completion": "I give up", "reference": "4"},
    ]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    r = cli(str(f), "--verifier", "math", "--settings", '{"timeout_s": 10}')
    assert r.returncode == 0, r.stderr
    verdicts = [json.loads(line) for line in r.stdout.splitlines()]
    assert [v["status"] for v in verdicts] == ["passed", "wrong", "passed", "unparseable"]
    assert {"verifier", "version", "passed", "score", "detail", "duration_ms"} <= set(verdicts[0])
    assert "4 verdicts" in r.stderr and "2 passed" in r.stderr and "pass rate 50.0%" in r.stderr


def test_verify_refuses_bad_settings_and_bad_lines(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"completion": "1", "reference": "1"}\nnot json\n')
    bad = cli(str(f), "--verifier", "math", "--settings", '{"timeout_s": -1}')
    assert bad.returncode == 2 and "verifiers.0.settings.timeout_s" in bad.stderr and not bad.stdout
    unknown = cli(str(f), "--verifier", "nope")
    assert unknown.returncode == 2 and "unknown verifier 'nope'" in unknown.stderr
    lines = cli(str(f), "--verifier", "exact")
    assert lines.returncode == 2 and "line 2: not JSON" in lines.stderr
