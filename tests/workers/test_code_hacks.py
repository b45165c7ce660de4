"""The code verifier cannot be faked or starved: every member of the reward-hacking family fails, a pass
needs the harness's report after the last test, the answer never sees the tests, one sandbox's fork bomb
or disk never changes another's verdict, and a failure of the sandbox itself is `error`, not `wrong`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.code_cases import HACKS, fenced, hack_code
from workers.verifiers import cgroup
from workers.verifiers.verify import verify_many

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

CHECK = {
    "check": "def check(candidate):\n    assert candidate(2) == 3\n    assert abs(candidate(0) - 1) < 1e-9\n"
    "    assert len([candidate(5)]) == 1 and candidate(5) == 6\n",
    "entry_point": "inc",
}
ASSERTS = {"asserts": ["assert inc(2) == 3", "assert inc(9) == 10"]}


def code(items, **settings):
    return verify_many(
        {"verifiers": [{"name": "code", "settings": {"timeout_s": 5, "cpu_s": 2, **settings}}]}, items
    )


def answer(src: str, tests) -> dict:
    return {"completion": fenced(src), "tests": tests}


def test_a_correct_answer_passes_both_test_forms():
    vs = code([answer("def inc(x):\n    return x + 1", t) for t in (CHECK, ASSERTS)])
    assert [v.status for v in vs] == ["passed", "passed"]
    assert vs[1].detail["passed_tests"] == 2 and vs[0].detail["sandbox"] == "bwrap"


@pytest.mark.parametrize("name", sorted(HACKS))
def test_every_hack_fails_under_both_test_forms(name):
    vs = code([answer(hack_code(name, "inc"), t) for t in (CHECK, ASSERTS)])
    for v in vs:
        assert v.status in ("wrong", "timeout") and v.passed is not True, (name, v.detail)
        assert v.score == 0, (name, v.detail)


def test_the_tests_are_nowhere_the_answer_can_read():
    """The harness takes the tests on stdin before the answer's interpreter starts; the answer looks in
    every file it can open and every process's command line and environment for the tests' marker."""
    spy = (
        "import os\n"
        "def secret_visible():\n"
        "    seen = []\n"
        "    for top in ('/sandbox', '/tmp', '/proc'):\n"
        "        for root, dirs, files in os.walk(top):\n"
        "            if root.startswith('/proc/') and root.count('/') > 2 and not root.endswith('fd'):\n"
        "                dirs[:] = []\n"
        "            for f in files + (['cmdline', 'environ'] if root.count('/') == 2 else []):\n"
        "                try:\n"
        "                    with open(os.path.join(root, f), 'rb') as fh:\n"
        "                        seen.append(fh.read(1 << 20))\n"
        "                except OSError:\n"
        "                    pass\n"
        "    return any(b'MARKER-' + b'7f3a' in s for s in seen)  # not spelled out: this file is read too\n"
    )
    v = code([answer(spy, {"asserts": ["assert secret_visible() is False  # MARKER-7f3a"]})], timeout_s=20)[0]
    assert v.status == "passed", v.detail


@pytest.mark.slow  # a fork bomb waited out in its sandbox; make test runs it
def test_a_fork_bomb_beside_correct_answers_changes_none_of_their_verdicts():
    """Full concurrency, other programs holding processes as nobody (the uid every sandbox runs as):
    each sandbox's process limit is its own cgroup's."""
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    good = [
        answer("def inc(x):\n    return x + 1", CHECK),
        answer("print(int(input()) + 1)", [{"input": "1", "output": "2"}]),
    ]
    others = [subprocess.Popen(["sleep", "120"], user=65534) for _ in range(40)]  # > max_processes
    try:
        items = [answer(bomb, CHECK), answer(bomb, [{"input": "", "output": ""}]), *good * 10]
        vs = code(items, max_processes=16)
    finally:
        for p in others:
            p.kill()
    assert [v.status for v in vs[2:]] == ["passed"] * 20, [v.detail for v in vs[2:] if v.status != "passed"]
    assert all(v.passed is not True for v in vs[:2])
    if os.geteuid() == 0:
        assert cgroup.parent() is not None  # this host has a pids controller: the limit is per sandbox
        assert not [p for p in cgroup.parent().iterdir() if p.name.startswith("sbx-")]  # none left over


def test_all_a_sandbox_can_write_is_capped():
    """The work dir and /tmp share one cap; the root and /dev, which bwrap makes as tmpfs owned by the
    sandbox's uid, take nothing."""
    src = (
        "import os\ndef fill():\n    n = 0\n    for d in ('.', '/tmp'):\n        for i in range(400):\n"
        "            try:\n                with open(f'{d}/f{len(d)}-{i}', 'wb') as f:\n"
        "                    f.write(b'x' * (1 << 20))\n                n += 1\n"
        "            except OSError:\n                break\n    return n\n"
        "def elsewhere():\n    ok = []\n    for p in ('/x', '/dev/x', '/usr/x', '/proc/x'):\n        try:\n"
        "            open(p, 'wb').write(b'x')\n            ok.append(p)\n        except OSError:\n"
        "            pass\n    return ok\n"
    )
    tests = {"asserts": ["n = fill()\nassert 4 <= n < 9, n", "assert elsewhere() == []"]}
    v = code([answer(src, tests)], disk_mb=8, file_size_mb=4)[0]
    assert v.status == "passed", v.detail  # at most 8 files of 1 MiB across both: one cap of 8 MiB


def test_a_failing_sandbox_is_an_error_retried_and_never_a_verdict(monkeypatch):
    """bwrap that cannot fork (what a starved host gives): the probe passes, every run fails; the answer
    is neither wrong nor accepted, and each run was tried again before giving up."""
    tmp_path = Path(tempfile.mkdtemp(prefix="distillery-fake-bwrap-"))  # readable by the sandbox's uid
    os.chmod(tmp_path, 0o755)
    log = tmp_path / "calls"
    log.touch(mode=0o666)
    os.chmod(log, 0o666)
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"/usr/bin/true"*) exec /usr/bin/bwrap "$@";; esac\n'
        f"echo x >> {log}\n"
        "echo 'bwrap: Creating new namespace failed: Resource temporarily unavailable' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("DISTILLERY_BWRAP", str(fake))
    monkeypatch.setattr("workers.verifiers.code.RETRIES", (0.01, 0.01))
    vs = code(
        [answer("def inc(x):\n    return x + 1", CHECK), answer("print(2)", [{"input": "", "output": "2"}])]
    )
    assert [v.status for v in vs] == ["error", "error"] and all(v.passed is None for v in vs)
    assert "Resource temporarily unavailable" in vs[0].detail["tests"][0]["error"]
    assert len(log.read_text().split()) == 6  # two runs, each tried three times
    shutil.rmtree(tmp_path)


def test_answers_sharing_a_sandbox_never_decide_each_others_verdicts():
    """Answers run in turn in one sandbox (BATCH of them): one that kills the harness, leaves a daemon
    that kills whatever it can, or leaves files behind changes nothing for the answers after it."""
    good = answer("def inc(x):\n    return x + 1", CHECK)
    killer = answer(hack_code("kill_harness", "inc"), CHECK)
    daemon = answer(
        "import os, signal, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        while True:\n"
        "            for p in os.listdir('/proc'):\n"
        "                if p.isdigit() and int(p) != os.getpid():\n"
        "                    try:\n                        os.kill(int(p), signal.SIGKILL)\n"
        "                    except OSError:\n                        pass\n            time.sleep(0.01)\n"
        "    os._exit(0)\n"
        "def inc(x):\n    return 0\n",
        CHECK,
    )
    planter = answer(
        "open('/tmp/inc.py', 'w').write('def inc(x): return 0')\nopen('notes', 'w').write('x')\n"
        "def inc(x):\n    return 0\n",
        CHECK,
    )
    spy = answer(
        "import os\ndef inc(x):\n"
        "    assert not os.path.exists('notes') and not os.path.exists('/tmp/inc.py')\n"
        "    return x + 1\n",
        CHECK,
    )
    items = [good, killer, good, daemon, good, planter, spy, good] * 2
    vs = code(items)
    want = {id(good): "passed", id(spy): "passed"}
    assert [v.status for v in vs] == [want.get(id(it), "wrong") for it in items], [v.detail for v in vs]


@pytest.mark.parametrize("died_at", [0, 1])
def test_a_harness_that_dies_before_its_first_answer_is_an_error_never_a_verdict(monkeypatch, died_at):
    """No `started 0`: no answer's code ran in that sandbox, so its death is the sandbox's failure
    (status error, counted apart), for every answer of the batch, whatever the exit."""
    import json

    from backend.verifiers.settings import CodeSettings
    from workers.verifiers import code as code_verifier
    from workers.verifiers import sandbox

    calls: list[int] = []

    def fake_harness(programs, specs, limits, *, python, sandboxed):
        calls.append(len(programs))
        # died_at 1: in the first sandbox answer 0 began and was the cause; every later one dies at once
        lines = [{"started": 0}] if died_at == 1 and len(calls) == 1 else []
        return sandbox.RunResult(
            "ok", -9, "", "", "bwrap", report="".join(json.dumps(x) + "\n" for x in lines)
        )

    monkeypatch.setattr(sandbox, "run_harness", fake_harness)
    batch = [(f"answer {i}", [code_verifier.Test(code="assert True")]) for i in range(2)]
    out = code_verifier.run_harness_batch(batch, CodeSettings(), sandboxed=True)
    if died_at == 0:
        assert [r[0]["status"] for r in out] == ["error", "error"]
        assert "before its first answer ran" in out[0][0]["error"]
    else:  # answer 0 is blamed; answer 1 runs again, and its fresh sandbox dies before starting it
        assert [r[0]["status"] for r in out] == ["runtime_error", "error"]
        assert calls == [2, 1]


@pytest.mark.parametrize("began", [False, True])
def test_a_harness_killed_between_answers_blames_none_of_them(monkeypatch, began):
    """The harness says `started k` before answer k runs. Killed before that line (while cleaning up
    after k - 1, where k - 1's daemon can still reach it), k never ran: it runs again in a fresh sandbox
    with the rest. Killed after it, k is the answer it was on and fails; the rest run again."""
    import json

    from backend.verifiers.settings import CodeSettings
    from workers.verifiers import code as code_verifier
    from workers.verifiers import sandbox

    calls: list[list[str]] = []

    def fake_harness(programs, specs, limits, *, python, sandboxed):
        calls.append(list(programs))
        lines = []
        for k in range(len(programs)):
            if len(calls) == 1 and k == 1:  # the first sandbox dies around answer 1
                if began:
                    lines.append({"started": k})
                break
            lines += [{"started": k}, {"item": k, "results": [{"status": "passed"}]}]
        report = "".join(json.dumps(line) + "\n" for line in lines)
        return sandbox.RunResult("ok", -9, "", "", "bwrap", report=report)

    monkeypatch.setattr(sandbox, "run_harness", fake_harness)
    batch = [(f"answer {i}", [code_verifier.Test(code="assert True")]) for i in range(3)]
    out = code_verifier.run_harness_batch(batch, CodeSettings(), sandboxed=True)
    if began:
        assert out[0][0]["status"] == "passed" and out[2][0]["status"] == "passed"
        assert out[1][0]["status"] == "runtime_error" and "stopped before reporting" in out[1][0]["error"]
        assert calls == [["answer 0", "answer 1", "answer 2"], ["answer 2"]]
    else:
        assert [r[0]["status"] for r in out] == ["passed", "passed", "passed"]
        assert calls == [["answer 0", "answer 1", "answer 2"], ["answer 1", "answer 2"]]
