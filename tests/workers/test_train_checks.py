"""Each pre-flight check catches its planted defect on the real tokenizer and the tokens the student
trains on (encode.py), and a waived check is recorded; a recipe's template must render what the
student's own renders."""

from __future__ import annotations

import pytest

from backend.core.errors import Invalid
from backend.training.preflight import CHECK_KINDS, CHECKS, WAIVABLE, checks_for
from backend.training.schemas import SETTINGS_OF, TrainBase
from tests.workers.train_helpers import conversations, tiny_student
from workers.training import checks, encode
from workers.training.templates import setup, student_template
from workers.training.tokens import stop_ids


@pytest.fixture(scope="module")
def path() -> str:
    return tiny_student()


@pytest.fixture()
def tok(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _check(tok, convos, template=None, stops=None, **kw):
    template = template or tok.chat_template
    args = {
        "method": "sft",
        "row_ids": list(range(len(convos))),
        "truncated": set(),
        "max_length": None,
        "model_max": 1024,
        "too_long": "exclude",
        "overrides": [],
        "stops": stops if stops is not None else stop_ids(tok),
    } | kw
    enc = encode.encode_sft(tok, template, convos, args["row_ids"])
    report = checks.run_checks(tok, enc, convos, **args)
    return report, {r.name: r for r in report.results}


def test_clean_data_passes_every_check(tok):
    report, by = _check(tok, conversations(5))
    assert all(r.passed and not r.overridden for r in by.values()) and report.keep == list(range(5))
    assert by["pad_token"].total == 1 and by["eos_trained"].total == 5  # the tokenizer; each example
    checks.refuse_if_failed(report)


def test_loss_is_on_the_final_turn_only_and_the_prompt_is_what_is_served(tok):
    convo = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an earlier answer from the prompt set"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "<think>\nwhy\n</think>\n\nthe final answer"},
    ]
    enc = encode.encode_sft(tok, tok.chat_template, [convo], [7])
    ids, mask = enc.ids[0], enc.masks[0]
    trained = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
    context = tok.decode([t for t, m in zip(ids, mask, strict=True) if not m])
    assert trained == "<think>\nwhy\n</think>\n\nthe final answer<|end|>\n"
    assert "an earlier answer" in context and "an earlier answer" not in trained
    served = tok.apply_chat_template(convo[:-1], tokenize=False, add_generation_prompt=True)
    assert context == served
    # the whole example is exactly the original template's render of the conversation
    assert enc.texts[0] == tok.apply_chat_template(convo, tokenize=False)
    assert encode.show_sample(tok, ids, mask).endswith(
        "⟦<think>\nwhy\n</think>\n\nthe final answer<|end|>\n⟧"
    )


def test_eos_not_trained_when_the_template_never_closes_the_turn(tok):
    open_ended = tok.chat_template.replace("{{ m['content'] }}<|end|>", "{{ m['content'] }}")
    report, by = _check(tok, conversations(4), template=open_ended)
    assert not by["eos_trained"].passed and by["eos_trained"].count == 4
    assert by["eos_trained"].help == CHECK_KINDS["eos_trained"].help  # what it checks, for the run page
    assert "end-of-turn token (<|end|>)" in by["eos_trained"].fix
    with pytest.raises(Invalid, match="eos_trained: 4 of 4"):
        checks.refuse_if_failed(report)


def test_pad_equal_to_eos_is_replaced_by_a_reserved_token_and_eos_stays_trained(tok, path):
    tok.pad_token = tok.eos_token
    done = setup(tok, path, None, conversations(2))
    assert done.pad["token"] == "<|pad|>" and "was the stop token <|end|>" in done.pad["source"]
    assert tok.pad_token_id != tok.eos_token_id
    _, by = _check(tok, conversations(3))
    assert by["eos_trained"].passed and by["pad_token"].passed


def test_no_free_reserved_token_keeps_eos_as_pad_and_says_so(tok):
    from workers.training.tokens import choose_pad

    tok.pad_token = None
    # a token the template writes itself is never taken as the pad: here the only reserved one
    pad = choose_pad(tok, stop_ids(tok), tok.chat_template + "{# <|pad|> #}")
    assert tok.pad_token == tok.eos_token and pad["source"] == "eos (pad had none)"
    _, by = _check(tok, conversations(3))
    assert by["eos_trained"].passed  # labels by position: the EOS is a target even as the pad


def test_reasoning_dropped_by_the_template(tok):
    # like the stock DeepSeek-R1-Distill template without its <think> generation prompt
    dropping = tok.chat_template.replace(
        "{{ m['content'] }}<|end|>", "{{ m['content'].split('</think>')[-1] }}<|end|>"
    )
    report, by = _check(tok, conversations(3), template=dropping)
    assert not by["reasoning_kept"].passed and by["reasoning_kept"].count == 3
    assert "<think>" in by["reasoning_kept"].fix
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
    report, _ = _check(tok, convos)
    assert report.max_length >= max(report.lengths) and report.keep == list(range(6))


def test_truncated_teacher_traces_are_refused(tok):
    report, by = _check(tok, conversations(4), truncated={2})
    assert not by["truncated_traces"].passed and by["truncated_traces"].examples == ["generation 2"]


def test_a_recipe_template_must_render_what_the_students_renders(tok):
    convos = conversations(3)
    same = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}" + (
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    assert student_template(tok, same, convos).source == "student"  # equal renders: the student's own
    other = same.replace("<|end|>\n", "<|end|>")
    with pytest.raises(
        Invalid, match=r"renders differently from the student's own template on row 0 .*character"
    ):
        student_template(tok, other, convos)
    tok.chat_template = None  # a base model: the recipe's template is the template
    got = student_template(tok, other, convos)
    assert got.source == "recipe" and got.text == other
    with pytest.raises(Invalid, match="has no chat template"):
        student_template(tok, None, convos)


def test_a_template_whose_prompt_is_not_a_prefix_is_refused_with_the_row(tok):
    # each turn says how many turns there are: adding the answer changes the prompt's text
    shifting = (
        "{% for m in messages %}<|{{ m.role }}|>{{ messages | length }}\n{{ m.content }}<|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    with pytest.raises(
        Invalid, match="row 5: the template renders the conversation's earlier turns differently"
    ):
        encode.encode_sft(tok, shifting, conversations(1), [5])


def test_the_check_registry_and_its_functions_agree():
    """override_checks allows exactly the registry's waivable checks; every check says what it checks,
    names the methods it applies to and has one registered function."""
    allowed = TrainBase.model_json_schema()["properties"]["override_checks"]["items"]["enum"]
    assert allowed == list(WAIVABLE) == [c.name for c in CHECK_KINDS.values() if c.waivable]
    assert set(checks.FUNCTIONS) == set(CHECKS) == set(CHECK_KINDS)
    for c in CHECK_KINDS.values():
        assert c.help.strip() and c.methods and set(c.methods) <= set(SETTINGS_OF), c.name
    # sft trains on the assistant turn: all but kd's checks of its teacher cache, which kd adds to them
    assert [c.name for c in checks_for("sft")] == [c for c in CHECKS if not c.startswith("teacher_")]
    assert [c.name for c in checks_for("kd")] == list(CHECKS)
    assert "assistant_mask" not in [c.name for c in checks_for("dpo")]
    with pytest.raises(KeyError, match="not in"):
        checks.check("made_up")


def test_a_method_gets_only_its_checks(tok):
    """DPO scores whole completions: no assistant mask nor trained EOS is asked of it."""
    convos = conversations(3)
    _, by = _check(tok, convos, method="dpo")
    assert list(by) == [c.name for c in checks_for("dpo")] and "eos_trained" not in by


def test_a_check_that_cannot_be_waived_is_refused_with_why():
    from pydantic import TypeAdapter, ValidationError

    from backend.training.schemas import TrainSettings

    with pytest.raises(ValidationError, match="too_long cannot be waived") as err:
        TypeAdapter(TrainSettings).validate_python({"override_checks": ["too_long"]})
    assert err.value.errors()[0]["loc"] == ("override_checks",)
