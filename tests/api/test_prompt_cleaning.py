"""Cleaning through the API and the worker: duplicates, near duplicates, decontamination, split,
statistics, and new versions derived from old ones with lineage."""

from __future__ import annotations

import json
import random

from tests.support.prompts import write_jsonl


def _prompts(k: int, words: int = 70) -> list[str]:
    """k unrelated prompts of `words` words each (seeded, so every run sees the same data)."""
    rng = random.Random(k * 1000 + words)
    vocab = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ri", "so", "tu") for b in range(60)]
    return [" ".join(rng.choices(vocab, k=words)) + f" question {i}?" for i in range(k)]


def test_exact_and_near_duplicates_are_removed_and_reported(client, importer, proj, tmp_path):
    h, pid = proj
    texts = _prompts(40)
    rows = [{"prompt": t} for t in texts]
    rows.append({"prompt": "  " + texts[3].upper().replace(" ", "   ")})  # exact after normalising: row 41
    words = texts[7].split()
    words[30] = "goats"
    # One word of 72 changed: Jaccard of word 5-shingles 63/73 = 0.86 >= 0.8, a near duplicate of row 8.
    rows.append({"prompt": " ".join(words)})
    job = importer(h, pid, write_jsonl(tmp_path / "d.jsonl", rows))
    assert job["status"] == "succeeded", job
    rep = job["result"]["report"]
    assert rep["rows_read"] == 42 and rep["rows_stored"] == 40
    assert rep["removed"] == {"exact_duplicate": 1, "near_duplicate": 1}
    ex = {e["reason"]: e for e in rep["removed_examples"]}
    assert (ex["exact_duplicate"]["row"], ex["exact_duplicate"]["matched"]) == (41, 4)
    assert (ex["near_duplicate"]["row"], ex["near_duplicate"]["matched"]) == (42, 8)
    assert ex["near_duplicate"]["matched_text"] == texts[7][:200]
    stats = job["result"]["prompt_set"]["stats"]
    assert stats["count"] == 40 and stats["removed"] == rep["removed"] and stats["source"] == "d.jsonl"
    assert stats["chars"]["count"] == 40 and sum(stats["chars"]["histogram"]["counts"]) == 40


def test_dedup_can_be_turned_off(importer, proj, tmp_path):
    h, pid = proj
    rows = [{"prompt": "same prompt here"}] * 3
    opts = json.dumps({"dedup_exact": False, "near_dup_threshold": None})
    job = importer(h, pid, write_jsonl(tmp_path / "d.jsonl", rows), options=opts)
    assert job["result"]["report"]["rows_stored"] == 3 and job["result"]["report"]["removed"] == {}


def test_decontamination_lists_each_removed_row_with_its_eval_match(client, importer, proj, tmp_path):
    h, pid = proj
    eval_texts = ["Find all real x such that x squared minus five x plus six equals zero and justify it."]
    ev = importer(
        h, pid, write_jsonl(tmp_path / "eval.jsonl", [{"prompt": t} for t in eval_texts]), name="eval"
    )
    eval_id = ev["result"]["prompt_set"]["id"]
    train = _prompts(10) + [
        "Warm-up first. " + eval_texts[0] + " Then check your answer.",  # row 11: shares 8-grams
        "Find all real x such that the cube is positive.",  # row 12: shares only a few words
    ]
    job = importer(
        h,
        pid,
        write_jsonl(tmp_path / "t.jsonl", [{"prompt": t} for t in train]),
        name="train",
        options=json.dumps({"decontaminate_against": eval_id}),
    )
    rep = job["result"]["report"]
    assert rep["removed"] == {"contaminated": 1} and rep["rows_stored"] == 11
    (removed,) = rep["removed_examples"]
    assert removed["row"] == 11 and removed["matched"] == 1 and removed["matched_text"] == eval_texts[0]


def test_unknown_or_foreign_eval_set_is_refused_before_upload_is_kept(client, accounts, proj, tmp_path):
    from tests.support.prompts import import_prompts

    h, pid = proj
    path = write_jsonl(tmp_path / "t.jsonl", [{"prompt": "x"}])
    r = import_prompts(client, h, pid, path, options=json.dumps({"decontaminate_against": 999999}))
    assert r.status_code == 404
    r = import_prompts(client, h, pid, path, options=json.dumps({"eval_ratio": 2}))
    assert r.status_code == 422 and "body.options.eval_ratio" in {
        f["path"] for f in r.json()["error"]["fields"]
    }
    assert client.get(f"/api/projects/{pid}/jobs", headers=h).json()["items"] == []


def test_split_is_deterministic_and_near_the_ratio(client, importer, proj, tmp_path):
    h, pid = proj
    rows = [{"prompt": f"distinct prompt number {i} about topic {i * 7919 % 1000}"} for i in range(2000)]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    opts = json.dumps({"eval_ratio": 0.2, "near_dup_threshold": None})
    a = importer(h, pid, path, name="a", options=opts)["result"]["prompt_set"]
    b = importer(h, pid, write_jsonl(tmp_path / "r.jsonl", rows[::-1]), name="b", options=opts)["result"][
        "prompt_set"
    ]
    assert 0.17 < a["stats"]["splits"]["eval"] / 2000 < 0.23

    def sides(pset_id):
        out, cursor = {}, None
        while True:
            q = f"/api/projects/{pid}/prompt-sets/{pset_id}/prompts?limit=500" + (
                f"&cursor={cursor}" if cursor else ""
            )
            page = client.get(q, headers=h).json()
            out.update({p["text"]: p["split"] for p in page["items"]})
            if not (cursor := page["next_cursor"]):
                return out

    assert sides(a["id"]) == sides(b["id"])  # a prompt lands on the same side whatever the file order


def test_derived_version_keeps_lineage_and_leaves_the_source_alone(client, importer, proj, tmp_path):
    h, pid = proj
    rows = [{"prompt": t} for t in _prompts(30)] + [{"prompt": _prompts(30)[0]}]
    src = importer(
        h,
        pid,
        write_jsonl(tmp_path / "v.jsonl", rows),
        name="v",
        options=json.dumps({"dedup_exact": False, "near_dup_threshold": None}),
    )["result"]["prompt_set"]
    assert src["prompt_count"] == 31
    r = client.post(
        f"/api/projects/{pid}/prompt-sets/{src['id']}/versions", headers=h, json={"eval_ratio": 0.5}
    )
    assert r.status_code == 202, r.text
    from tests.support.waiting import wait_job

    job = wait_job(client, h, pid, r.json()["id"])
    assert job["status"] == "succeeded", job
    new = job["result"]["prompt_set"]
    assert (new["name"], new["version"], new["parent_id"]) == ("v", 2, src["id"])
    assert new["prompt_count"] == 30 and new["stats"]["removed"] == {"exact_duplicate": 1}
    assert set(new["stats"]["splits"]) == {"train", "eval"}
    assert client.get(f"/api/projects/{pid}/prompt-sets/{src['id']}", headers=h).json()["prompt_count"] == 31
    bad = client.post(f"/api/projects/{pid}/prompt-sets/{src['id']}/versions", headers=h, json={"ngram": 1})
    assert bad.status_code == 422 and "body.ngram" in {f["path"] for f in bad.json()["error"]["fields"]}
