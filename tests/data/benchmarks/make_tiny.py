"""Writes tests/data/benchmarks/tiny/*.jsonl from data that ships inside the lm_eval wheel (no one
here wrote it): the eight GSM8K chain-of-thought exemplars of Wei et al. (lm_eval/tasks/gsm8k/
gsm8k-cot.yaml) and twenty MMLU dev questions with their answers (the flan chain-of-thought exemplars
of lm_eval/tasks/mmlu/flan_cot_fewshot/, five from each of four subjects). Run once; the files are
committed, so the tests never need it: `python tests/data/benchmarks/make_tiny.py`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lm_eval
import yaml

TASKS = Path(lm_eval.__file__).parent / "tasks"
OUT = Path(__file__).parent / "tiny"
SUBJECTS = ["high_school_computer_science", "high_school_statistics", "astronomy", "college_physics"]


def gsm8k() -> list[dict]:
    cfg = yaml.safe_load((TASKS / "gsm8k" / "gsm8k-cot.yaml").read_text())
    rows = []
    for s in cfg["fewshot_config"]["samples"]:
        answer = re.search(r"The answer is (-?[\d,.]+)\.", s["target"]).group(1).replace(",", "")
        rows.append({"question": s["question"], "answer": answer})
    return rows


def mmlu() -> list[dict]:
    rows = []
    for subject in SUBJECTS:
        cfg = yaml.safe_load((TASKS / "mmlu" / "flan_cot_fewshot" / f"mmlu_{subject}.yaml").read_text())
        for s in cfg["fewshot_config"]["samples"]:
            stem, *parts = re.split(r"\(([A-D])\) ", s["question"])
            choices = [" ".join(p.split()) for p in parts[1::2]]
            letter = re.search(r"The answer is \(([A-D])\)", s["target"]).group(1)
            if len(choices) != 4 or parts[0::2] != list("ABCD"):
                continue  # options not in the (A) .. (D) form: not a clean four-way question
            rows.append(
                {
                    "subject": subject,
                    "question": stem.strip(),
                    "choices": choices,
                    "answer": "ABCD".index(letter),
                }
            )
    return rows


if __name__ == "__main__":
    for name, rows in (("tiny_arith", gsm8k()), ("tiny_mmlu", mmlu())):
        (OUT / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(name, len(rows))
