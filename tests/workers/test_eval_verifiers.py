"""Which verifiers score an evaluation, and maj@k's stated answer whatever their order."""

from __future__ import annotations

import pytest

from backend.core.errors import Invalid
from backend.evals.schemas import EvalSettings
from workers.stages.evaluate import Truth, choose_verifiers, stated_answer
from workers.verifiers.verify import verify_many

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


def _prompts(*truths):
    return [(i, [{"role": "user", "content": "q"}], t) for i, t in enumerate(truths)]


def test_the_verifiers_come_from_settings_filter_or_the_prompt_set_and_none_fitting_is_refused():
    tests = Truth(None, {"asserts": ["assert f() == 1"]})
    ref = Truth("42", None)
    combo, why = choose_verifiers(EvalSettings(), {"stages": ["evaluate"]}, _prompts(tests, tests, ref))
    assert [v.name for v in combo.verifiers] == ["code"] and why == "the prompt set (2 prompts with tests)"
    combo, why = choose_verifiers(EvalSettings(), {"stages": ["evaluate"]}, _prompts(ref))
    assert [v.name for v in combo.verifiers] == [
        "math"
    ] and why == "the prompt set (1 prompts with references)"
    mine = EvalSettings(verifiers={"verifiers": [{"name": "format"}]})
    assert choose_verifiers(mine, {}, _prompts(ref))[1] == "evaluate.verifiers"
    with pytest.raises(Invalid, match="no verifier fits.*neither tests nor references"):
        choose_verifiers(EvalSettings(), {"stages": ["evaluate"]}, _prompts(Truth(None, None)))


@pytest.mark.parametrize("order", [["math", "format"], ["format", "math"]])
def test_the_stated_answer_does_not_depend_on_the_verifiers_order(order):
    items = [
        {"completion": "<think>six times seven</think>The answer is $\\boxed{42}$.", "reference": "42"},
        {"completion": "<think>hmm</think>The answer is $\\boxed{41}$.", "reference": "42"},
    ]
    vs = verify_many({"mode": "all", "verifiers": [{"name": n} for n in order]}, items)
    assert [stated_answer(v) for v in vs] == ["42", "41"]
    assert [v.passed for v in vs] == [True, False]
