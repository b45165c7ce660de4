"""A reviewer's edit is verified by the run's filter verifiers in the edit_verify job, on the real
worker: its verdict is pending until then and stored with the edit (math: a right and a wrong answer;
code: a program that passes its tests and one that fails them, run in the sandbox as the filter does)."""

from __future__ import annotations

from tests.support.accounts import Accounts
from tests.support.reviews import seed_review_run
from tests.support.waiting import poll_until

FENCE = "`" * 3


def _verdicts_of_edits(client, accounts, tmp_path, *, prompts, edits, recipe):
    pid, rid, (rev,), _ = seed_review_run(
        accounts, tmp_path, items=len(edits), overlap_share=0, reviewers=1, prompts=prompts, recipe=recipe
    )
    h = Accounts.bearer(Accounts.token_for(rev))
    base = f"/api/projects/{pid}/runs/{rid}/review"
    for content in edits:
        item = client.post(f"{base}/claim", headers=h).json()["item"]
        body = {"decision": "edit", "content": content}
        r = client.post(f"{base}/items/{item['task_id']}/decision", headers=h, json=body)
        assert r.status_code == 200 and r.json()["after"]["verdict"]["status"] == "pending", r.text

    def settled():
        log = client.get(f"{base}/log", headers=h).json()
        verdicts = [e["after"]["verdict"] for e in log]
        return verdicts if all(v["status"] != "pending" for v in verdicts) else None

    return poll_until(settled, "every edit's verdict", timeout=120)


def test_edits_are_verified_in_a_worker(client, accounts, tmp_path, celery_worker):
    prompts = [{"prompt": "What is six times seven?", "reference": "42"}]
    math = _verdicts_of_edits(
        client, accounts, tmp_path, prompts=prompts, edits=["So it is \\boxed{42}.", "So it is \\boxed{41}."],
        recipe={"filter": {"verifiers": {"verifiers": [{"name": "math", "settings": {"timeout_s": 10}}]}}},
    )  # fmt: skip
    assert [(v["verifier"], v["status"], v["passed"]) for v in math] == [
        ("math", "passed", True), ("math", "wrong", False)
    ]  # fmt: skip

    tests = {"asserts": ["assert double(2) == 4", "assert double(5) == 10"]}
    code_prompts = [{"prompt": "Write double(x).", "tests": tests}]
    right = f"{FENCE}python\ndef double(x):\n    return 2 * x\n{FENCE}"
    wrong = f"{FENCE}python\ndef double(x):\n    return x + 2\n{FENCE}"
    code = _verdicts_of_edits(
        client, accounts, tmp_path, prompts=code_prompts, edits=[right, wrong],
        recipe={"filter": {"verifiers": {"verifiers": [{"name": "code"}]}}},
    )  # fmt: skip
    assert [(v["verifier"], v["status"], v["passed"]) for v in code] == [
        ("code", "passed", True), ("code", "wrong", False)
    ]  # fmt: skip
