"""One set of admission rules: what the snapshot's selection leaves out is exactly what the train
pre-flight refuses as a data problem, for the same reasons (backend/datasets/admission.py)."""

from __future__ import annotations

import pytest

from backend.datasets.admission import REASONS, explain, refusal
from backend.datasets.schemas import SnapshotSettings
from backend.datasets.selection import Attempt, assistant_text, select_prompt
from workers.training import checks

pytestmark = pytest.mark.pure

# (reasoning, content, finish_reason) -> the reason every gate gives, None where all admit it
CASES = [
    (None, "Answer: 42", "stop", None),
    ("thought it through", "Answer: 42", "stop", None),
    (None, "<think>inline and closed</think>\n\nAnswer: 42", "stop", None),
    (None, "", "length", "truncated"),  # the incident: an empty answer cut at max_tokens
    ("half a thou", "", "length", "truncated"),
    (None, "Answer: 4", "length", "truncated"),  # cut, whatever it wrote
    (None, "", "stop", "empty"),
    (None, "   \n", "stop", "empty"),
    (None, "<think></think>", "stop", "empty"),
    ("all of it", "", "stop", "no_answer"),
    (None, "<think>never closed", "stop", "no_answer"),
    (None, "<think>closed</think>   ", "stop", "no_answer"),
]


@pytest.mark.parametrize(("reasoning", "content", "finish", "why"), CASES)
def test_each_attempt_gets_one_reason(reasoning, content, finish, why):
    assert refusal(reasoning=reasoning, content=content, finish_reason=finish) == why
    if why:
        assert why in REASONS and why in explain(why, 7) and "attempt 7" in explain(why, 7)


def _turn(reasoning: str | None, content: str) -> str:
    """The assistant turn a writer that skipped the rules would have stored."""
    try:
        return assistant_text(reasoning, content)
    except ValueError:  # reasoning with no answer: assistant_text refuses to close it
        return f"<think>\n{reasoning}\n</think>\n\n{content}"


def test_the_snapshot_leaves_out_exactly_what_the_preflight_refuses_with_the_same_reasons():
    attempts = [
        Attempt(100 + i, i, True, reasoning, content, None, finish_reason=finish)
        for i, (reasoning, content, finish, _) in enumerate(CASES)
    ]
    picked = select_prompt(1, attempts, SnapshotSettings(drop_near_duplicates=False))
    expected = {a.generation_id: why for a, (*_, why) in zip(attempts, CASES, strict=True) if why}
    assert sum(picked.cut.values()) == len(expected)
    assert picked.cut == {w: list(expected.values()).count(w) for w in set(expected.values())}
    assert {a.generation_id for a in picked.rows} == {a.generation_id for a in attempts} - set(expected)

    # the pre-flight on every attempt as a row, as if a snapshot had let them all through
    convos = [
        [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": _turn(a.reasoning, a.content or "")},
        ]
        for a in attempts
    ]
    x = checks.Inputs(
        tokenizer=None, enc=None, conversations=convos, row_ids=[a.generation_id for a in attempts],
        truncated={a.generation_id for a in attempts if a.finish_reason == "length"}, stops=set(), lengths=[],
        max_length=0, too_long="exclude",
    )  # fmt: skip
    refused: dict[int, str] = {gid: "truncated" for gid in checks.FUNCTIONS["truncated_traces"](x).bad}
    found = checks.FUNCTIONS["admission"](x)
    for i, shown in zip(found.bad, found.shown or [], strict=True):
        gid = x.row_ids[i]
        refused.setdefault(gid, shown.rsplit(": ", 1)[1])  # a truncated row fails truncated_traces first
    assert refused == expected
