"""The transformers_local teacher over the project's tiny model: real generate on CPU, no mocks."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from workers.teachers.base import Completion, Request, Sampling
from workers.teachers.transformers_local import TransformersLocalTeacher, load

pytestmark = [pytest.mark.pure, pytest.mark.slow]  # no services; builds and runs the tiny model (minutes)

ROOT = Path(__file__).resolve().parents[2]
ASK = [{"role": "user", "content": "how many apples are left if 3 of 10 are eaten"}]


def collect(teacher: TransformersLocalTeacher, requests: list[Request]) -> dict:
    async def go() -> list[tuple[Request, list[Completion]]]:
        return [item async for item in teacher.generate(requests)]

    items = asyncio.run(go())
    assert len(items) == len({r.key for r, _ in items}), "a request came back twice"
    return {r.key: completions for r, completions in items}


def ask(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"what is the total of {i} apples and " + "more marbles " * i}]


def assert_sane(c: Completion, max_tokens: int) -> None:
    assert c.ok, c.error
    assert isinstance(c.content, str) and c.content.strip()
    assert c.prompt_tokens and c.prompt_tokens > 0
    assert c.completion_tokens is not None and 0 < c.completion_tokens <= max_tokens
    assert c.finish_reason == ("length" if c.completion_tokens == max_tokens else "stop"), c
    assert c.latency_ms is not None and c.latency_ms >= 0


def test_every_request_gets_its_n_completions(tiny_model):
    teacher = TransformersLocalTeacher(str(tiny_model), Sampling(temperature=1.0, max_tokens=8))
    assert teacher.name == "transformers_local" and teacher.gpu_seconds == 0
    out = collect(teacher, [Request(i, ask(i), n=2) for i in range(3)])
    assert sorted(out) == [0, 1, 2]
    for i, completions in out.items():
        assert len(completions) == 2
        for c in completions:
            assert_sane(c, 8)
        # The prompt's own length, not the padded batch width: the three prompts differ.
        tok = load(str(tiny_model)).tok
        text = tok.apply_chat_template(ask(i), tokenize=False, add_generation_prompt=True)
        assert completions[0].prompt_tokens == len(tok(text, add_special_tokens=False)["input_ids"])
    assert len({out[i][0].prompt_tokens for i in out}) == 3
    # The tiny model was trained never to stop: at least some samples run to max_tokens.
    assert any(c.truncated for cs in out.values() for c in cs)
    assert teacher.gpu_seconds > 0
    asyncio.run(teacher.aclose())


def test_mixed_n_across_batches(tiny_model):
    """n of 1, 3, 5 and 0 with 4 rows a batch: requests span batches and still come back whole."""
    teacher = TransformersLocalTeacher(str(tiny_model), Sampling(temperature=0.8, max_tokens=6), batch_size=4)
    ns = {"one": 1, "three": 3, "five": 5, "none": 0, "two": 2}
    out = collect(teacher, [Request(k, ask(i), n=n) for i, (k, n) in enumerate(ns.items())])
    assert {k: len(v) for k, v in out.items()} == ns
    for completions in out.values():
        for c in completions:
            assert_sane(c, 6)


def test_seed_repeats_and_different_seeds_differ(tiny_model):
    def run(seed: int) -> list[str]:
        teacher = TransformersLocalTeacher(
            str(tiny_model), Sampling(temperature=1.0, max_tokens=8, seed=seed), batch_size=4
        )
        out = collect(teacher, [Request(i, ask(i), n=3) for i in range(3)])
        return [c.content for i in range(3) for c in out[i]]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    # Samples of one request differ, within a batch and across batches.
    assert len(set(first)) > 1


def test_greedy_is_the_same_alone_and_left_padded_in_a_batch(tiny_model):
    teacher = TransformersLocalTeacher(str(tiny_model), Sampling(temperature=0.0, max_tokens=8))
    alone = collect(teacher, [Request("short", ASK)])["short"][0]
    batched = collect(teacher, [Request("short", ASK), Request("long", ask(12))])
    assert batched["short"][0].content == alone.content
    assert batched["short"][0].prompt_tokens == alone.prompt_tokens < batched["long"][0].prompt_tokens
    # Greedy: every sample of a request is the same.
    twice = collect(teacher, [Request("x", ASK, n=2)])["x"]
    assert twice[0].content == twice[1].content == alone.content


def test_a_stop_string_cuts_the_output(tiny_model):
    sampling = Sampling(temperature=1.0, max_tokens=16, seed=3)
    full = collect(TransformersLocalTeacher(str(tiny_model), sampling), [Request("a", ASK)])["a"][0].content
    assert full and len(full) >= 12, full
    # Two stop strings from the text's first and second third, the later one listed first: the cut is
    # at whichever occurs first.
    early, late = full[len(full) // 3 :][:2], full[2 * len(full) // 3 :][:2]
    at = min(full.index(early), full.index(late))
    stopping = Sampling(temperature=1.0, max_tokens=16, seed=3, stop=(late, early))
    cut = collect(TransformersLocalTeacher(str(tiny_model), stopping), [Request("a", ASK)])["a"][0]
    # Same seed, same draws: the stopped sample is the full one up to the stop string, which is dropped.
    assert cut.content == full[:at]
    assert cut.finish_reason == "stop"
    # generate stopped there too (stop_strings), not after max_tokens.
    assert cut.completion_tokens is not None and cut.completion_tokens < 16


def test_a_batch_that_raises_fails_each_of_its_samples(tiny_model):
    # top_p below 0 makes transformers' sampler raise inside generate.
    teacher = TransformersLocalTeacher(str(tiny_model), Sampling(temperature=1.0, top_p=-0.5, max_tokens=4))
    out = collect(teacher, [Request("a", ASK, n=2), Request("b", ask(2), n=1)])
    assert {k: len(v) for k, v in out.items()} == {"a": 2, "b": 1}
    errors = [c.error for cs in out.values() for c in cs]
    assert all(e and e.startswith("ValueError: ") and "top_p" in e for e in errors), errors
    assert all(not c.ok and c.content is None and c.cause == "ValueError" for cs in out.values() for c in cs)


def test_a_model_that_cannot_load_fails_every_request_with_its_reason(tmp_path):
    missing = tmp_path / "no-such-model"
    teacher = TransformersLocalTeacher(str(missing), Sampling(max_tokens=4))
    out = collect(teacher, [Request("a", ASK, n=2), Request("b", ASK, n=1)])
    assert {k: len(v) for k, v in out.items()} == {"a": 2, "b": 1}
    for c in out["a"] + out["b"]:
        assert c.error and "no-such-model" in c.error and len(c.error) <= 300
    assert teacher.gpu_seconds == 0


def test_no_chat_template_joins_the_contents(tiny_model, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain)
    (plain / "chat_template.jinja").unlink()
    tok = load(str(plain)).tok
    assert not getattr(tok, "chat_template", None)
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "how many apples"}]
    teacher = TransformersLocalTeacher(str(plain), Sampling(temperature=1.0, max_tokens=5))
    c = collect(teacher, [Request("a", messages)])["a"][0]
    assert_sane(c, 5)
    assert c.prompt_tokens == len(tok("be brief\nhow many apples\n")["input_ids"])


def test_a_template_that_opens_think_makes_the_output_reasoning(tiny_model, tmp_path):
    """Templates such as DeepSeek-R1's end the prompt with <think>: what follows is reasoning."""
    thinking = tmp_path / "thinking"
    shutil.copytree(tiny_model, thinking)
    template = (thinking / "chat_template.jinja").read_text()
    (thinking / "chat_template.jinja").write_text(
        template.replace("<|assistant|>\n", "<|assistant|>\n<think>\n")
    )
    teacher = TransformersLocalTeacher(str(thinking), Sampling(temperature=1.0, max_tokens=6))
    c = collect(teacher, [Request("a", ASK)])["a"][0]
    assert c.ok, c.error
    # The tiny model never writes </think>: an unclosed trace is all reasoning and no answer.
    assert c.reasoning and c.content == ""


def test_a_caller_that_stops_early_leaves_the_model_usable(tiny_model):
    teacher = TransformersLocalTeacher(str(tiny_model), Sampling(temperature=1.0, max_tokens=4), batch_size=1)

    async def first_only() -> Request:
        stream = teacher.generate([Request(i, ask(i)) for i in range(4)])
        request, _ = await anext(stream)
        await stream.aclose()  # the batch already running finishes in its thread; the rest are skipped
        return request

    assert asyncio.run(first_only()).key in range(4)
    out = collect(teacher, [Request("again", ASK, n=2)])
    assert len(out["again"]) == 2 and all(c.ok for c in out["again"])
