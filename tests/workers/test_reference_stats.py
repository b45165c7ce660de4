"""References the math verifier cannot read are counted at import, as a statistic of the prompt set."""

from __future__ import annotations

from tests.conftest import write_jsonl


def test_import_flags_references_that_do_not_parse(client, accounts, importer, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    rows = [
        {"prompt": "p1", "reference": "42"},
        {"prompt": "p2", "reference": "\\frac{1}{2}"},
        {"prompt": "p3", "reference": "a nice sunny afternoon in the park"},
        {"prompt": "p4"},
        {"question": "p5", "answer": "Six apples and six more.\n#### 12"},
    ]
    job = importer(owner["headers"], pid, write_jsonl(tmp_path / "refs.jsonl", rows))
    assert job["status"] == "succeeded", job
    refs = job["result"]["prompt_set"]["stats"]["references"]
    assert refs["with_reference"] == 4 and refs["unparseable"] == 1
    assert refs["examples"] == [{"row": 3, "reference": "a nice sunny afternoon in the park"}]
    pset = client.get(
        f"/api/projects/{pid}/prompt-sets/{job['result']['prompt_set']['id']}", headers=owner["headers"]
    ).json()
    assert pset["stats"]["references"] == refs
