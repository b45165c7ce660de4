"""The benchmark harness's own pieces, without a model: the think strip, reading a suite folder (relative
data files made absolute, the strip put first in generation tasks only), and the config hash, which
moves with any file of the suite and with lm-eval's version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.evals import config_hash as ch
from workers.benchmarks import harness

pytestmark = pytest.mark.pure

SUITE = Path(__file__).parent / "data" / "benchmarks" / "tiny"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("<think>The answer is 99.</think>The answer is 6.", "The answer is 6."),
        ("<think>a</think> x <think>b</think> y", "x  y"),
        ("let me see, 99?\n</think>\n\nThe answer is 6.", "The answer is 6."),  # opened in the prompt
        ("<think>The answer is 99. Still thinking", ""),  # cut off: no answer, not the 99
        ("The answer is 6.", "The answer is 6."),
    ],
)
def test_strip_think_keeps_the_answer_only(text, answer):
    assert harness.strip_think(text) == answer


def test_the_filter_maps_every_response_of_every_document():
    out = harness.StripThink().apply([["<think>1</think>2", "3"], ["<think>4"]], [{}, {}])
    assert out == [["2", "3"], [""]]


def test_a_suite_reads_its_data_beside_its_yaml_and_strips_generation_tasks_only():
    arith, mmlu = harness.load_suite(SUITE, None, strip=True)
    assert (arith["task"], mmlu["task"]) == ("tiny_arith", "tiny_mmlu")
    assert arith["dataset_kwargs"]["data_files"] == {"test": str(SUITE / "tiny_arith.jsonl")}
    assert [p["name"] for p in arith["filter_list"]] == ["strict", "flexible"]
    assert all(p["filter"][0]["function"] is harness.StripThink for p in arith["filter_list"])
    assert arith["filter_list"][0]["filter"][1]["function"] == "regex"  # the task's own filters follow
    assert "filter_list" not in mmlu  # log-likelihood: nothing generated to strip
    (plain,) = harness.load_suite(SUITE, ["tiny_arith"], strip=False)
    assert all(p["filter"][0]["function"] == "regex" for p in plain["filter_list"])


def test_a_suite_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="no task named gpqa; the folder has tiny_arith, tiny_mmlu"):
        harness.load_suite(SUITE, ["gpqa"], strip=True)
    (tmp_path / "x.yaml").write_text("include: other.yaml\n")
    with pytest.raises(ValueError, match="x.yaml: not a task file"):
        harness.load_suite(tmp_path, None, strip=True)


def test_a_changed_task_file_changes_the_config_hash(tmp_path):
    copy = tmp_path / "tiny"
    shutil.copytree(SUITE, copy)

    def digest(version: str = "0.4.13") -> str:
        config = ch.benchmark_config_of(model="org/model", endpoint=None, suite=str(copy), task="tiny_arith",
                                        harness={"lm_eval": version}, settings={"seed": 0})  # fmt: skip
        return ch.config_hash(config)

    before = digest()
    assert digest() == before  # the same files: the same hash
    data = copy / "tiny_arith.jsonl"
    data.write_text(data.read_text().replace('"answer": "6"', '"answer": "7"'))  # one answer key changed
    changed = digest()
    assert changed != before
    template = copy / "tiny_arith.yaml"
    template.write_text(template.read_text().replace("Q: ", "Question: "))
    assert digest() not in (before, changed)
    assert digest("0.4.14") != digest()


def test_scores_keep_lm_evals_keys_and_drop_what_is_not_a_number():
    results = {
        "results": {"t": {"alias": "t", "acc,none": 0.25, "acc_stderr,none": "N/A", "x,none": float("nan")}},
        "n-samples": {"t": {"original": 20, "effective": 10}},
    }
    assert harness.task_scores(results) == {
        "t": ({"acc,none": 0.25, "acc_stderr,none": None, "x,none": None}, 10)
    }
