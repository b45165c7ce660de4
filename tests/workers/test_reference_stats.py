"""References the math verifier cannot read are counted at import, as a statistic of the prompt set."""

from __future__ import annotations

from tests.support.prompts import write_jsonl


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


def test_references_with_numbers_past_the_int_limit_are_stored_and_counted(
    client, accounts, importer, tmp_path
):
    """A reference past Python's 4,300-digit int-string limit failed the whole import with
    internal_error (the statistic's first tier called int() on it); now each row is stored and counted
    on its own: a number the verifiers can compare parses, one too long to compare does not."""
    nines, long, thirds = "9" * 4301, "1234567890" * 500, "0." + "3" * 5000
    beyond = "7" * 20_001
    rows = [
        {"prompt": "p1", "reference": f"\\boxed{{{nines}}}"},
        {"question": "p2", "answer": f"Count them all.\n#### {long}"},
        {"prompt": "p3", "reference": f"\\boxed{{{thirds}}}"},
        {"prompt": "p4", "reference": beyond},
        {"prompt": "p5", "reference": "42"},
    ]
    owner = accounts.user()
    pid = accounts.project(owner)
    job = importer(owner["headers"], pid, write_jsonl(tmp_path / "long.jsonl", rows))
    assert job["status"] == "succeeded", job
    refs = job["result"]["prompt_set"]["stats"]["references"]
    assert refs["with_reference"] == 5 and refs["unparseable"] == 1
    assert refs["examples"] == [{"row": 4, "reference": beyond[:200]}]
    ps = job["result"]["prompt_set"]["id"]
    items = client.get(
        f"/api/projects/{pid}/prompt-sets/{ps}/prompts", headers=owner["headers"], params={"limit": 10}
    ).json()["items"]
    assert [i["reference"] for i in items] == [
        f"\\boxed{{{nines}}}",
        long,
        f"\\boxed{{{thirds}}}",
        beyond,
        "42",
    ]
