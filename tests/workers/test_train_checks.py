"""Each pre-flight check catches its planted defect on the real tokenizer and template, and a waived
check is recorded; the template resolution refuses an unknown template without markers."""

from __future__ import annotations

import pytest

from backend.core.errors import Invalid
from tests.workers.train_helpers import conversations, tiny_student
from workers.training import checks
from workers.training.templates import TINY_CHAT_TEMPLATE, TINY_TRAINING_TEMPLATE, training_template


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_student())


def _check(tok, convos, template=TINY_TRAINING_TEMPLATE, **kw):
    args = {
        "row_ids": list(range(len(convos))),
        "truncated": set(),
        "max_length": None,
        "model_max": 1024,
        "too_long": "exclude",
        "overrides": [],
    } | kw
    report = checks.run_checks(tok, template, convos, **args)
    return report, {r.name: r for r in report.results}


def test_clean_data_passes_every_check(tok):
    report, by = _check(tok, conversations(5))
    assert all(r.passed and not r.overridden for r in by.values()) and report.keep == list(range(5))
    checks.refuse_if_failed(report)


def test_the_tiny_template_is_the_examples_and_renders_the_same_with_markers(tok):
    import sys

    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "examples"))
    from tiny_model import CHAT_TEMPLATE

    assert CHAT_TEMPLATE == TINY_CHAT_TEMPLATE
    c = conversations(1)[0]
    plain = tok.apply_chat_template(c, chat_template=TINY_CHAT_TEMPLATE, tokenize=False)
    assert tok.apply_chat_template(c, chat_template=TINY_TRAINING_TEMPLATE, tokenize=False) == plain
    assert training_template(tok) == TINY_TRAINING_TEMPLATE


def test_eos_not_a_target_when_pad_is_eos(tok):
    tok = tok.__class__.from_pretrained(tok.name_or_path)
    tok.pad_token = tok.eos_token
    report, by = _check(tok, conversations(4))
    assert not by["eos_trained"].passed and by["eos_trained"].count == 4
    assert "pad" in by["eos_trained"].fix
    with pytest.raises(Invalid, match="eos_trained: 4 of 4"):
        checks.refuse_if_failed(report)


def test_assistant_mask_all_zeros(tok):
    no_markers = TINY_TRAINING_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    _, by = _check(tok, conversations(3), template=no_markers)
    assert not by["assistant_mask"].passed and by["assistant_mask"].count == 3
    assert "generation" in by["assistant_mask"].fix


def test_reasoning_dropped_by_the_template(tok):
    # like the stock DeepSeek-R1-Distill template: only what follows </think> is rendered
    dropping = TINY_TRAINING_TEMPLATE.replace(
        "{{ m['content'] }}<|end|>{% endgeneration %}",
        "{{ m['content'].split('</think>')[-1] }}<|end|>{% endgeneration %}",
    )
    report, by = _check(tok, conversations(3), template=dropping)
    assert not by["reasoning_kept"].passed and by["reasoning_kept"].count == 3
    assert "<think>" in by["reasoning_kept"].fix
    # a maintainer may waive it explicitly; the waiver is recorded
    report, by = _check(tok, conversations(3), template=dropping, overrides=["reasoning_kept"])
    assert by["reasoning_kept"].overridden and report.overrides == ["reasoning_kept"]
    checks.refuse_if_failed(report)


def test_too_long_sequences_are_counted_and_excluded_or_refused(tok):
    convos = conversations(4) + conversations(2, seed=3, words=200)
    report, by = _check(tok, convos, max_length=64)
    assert by["too_long"].passed and by["too_long"].count == 2 and report.keep == [0, 1, 2, 3]
    report, by = _check(tok, convos, max_length=64, too_long="refuse")
    assert not by["too_long"].passed and "max_length" in by["too_long"].fix
    with pytest.raises(Invalid, match="too_long: 2 of 6"):
        checks.refuse_if_failed(report)
    # with no max_length it comes from the data: the longest example fits
    report, _ = _check(tok, convos)
    assert report.max_length >= max(report.lengths) and report.keep == list(range(6))


def test_truncated_teacher_traces_are_refused(tok):
    report, by = _check(tok, conversations(4), truncated={2})
    assert not by["truncated_traces"].passed and by["truncated_traces"].examples == ["generation 2"]


def test_pad_token_must_be_set(tok):
    tok = tok.__class__.from_pretrained(tok.name_or_path)
    tok.pad_token = None
    _, by = _check(tok, conversations(2))
    assert not by["pad_token"].passed


def test_unknown_template_without_markers_fails_with_what_to_fix(tok):
    tok = tok.__class__.from_pretrained(tok.name_or_path)
    tok.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(Invalid, match=r"generation %\}...\{% endgeneration %\}.*train.chat_template"):
        training_template(tok)
    assert training_template(tok, TINY_TRAINING_TEMPLATE) == TINY_TRAINING_TEMPLATE
