"""The openai_compat client against the project's fake server: rate-limit headers pause the client,
providers that ignore n are asked one sample at a time, and reasoning is split out however it comes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR
from workers.teachers.base import Completion, Sampling, split_reasoning
from workers.teachers.openai_compat import OpenAICompatClient, RateGate, parse_duration


@pytest.fixture
def fake(request):
    port = free_port()
    proc = start_fake_server(port, *request.param, log_path=DATA_DIR / f"fake-{port}.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def _ask(
    base: str, conversations: int, n: int = 1, gate: RateGate | None = None, **kw
) -> tuple[list, OpenAICompatClient]:
    client = OpenAICompatClient(
        base_url=f"{base}/v1", model="fake-teacher", sampling=Sampling(max_tokens=64), backoff_s=0.05, **kw
    )
    if gate is not None:
        client.gate = gate
    msgs = [[{"role": "user", "content": f"question {i}"}] for i in range(conversations)]
    return asyncio.run(client.chat_many(msgs, n=n)), client


@pytest.mark.parametrize(
    "fake", [("--ratelimit-requests", "10", "--ratelimit-window-s", "0.5")], indirect=True
)
def test_ratelimit_headers_pause_the_client(fake):
    # A client that ignores the headers (low water 0: never pauses) runs into the limit over and over...
    httpx.post(f"{fake}/stats/reset")
    out, _ = _ask(fake, 40, concurrency=8, gate=RateGate(low_water=0), max_retries=20)
    blind = httpx.get(f"{fake}/stats").json()["faults"].get("ratelimited", 0)
    assert all(c.ok for group in out for c in group)
    # ...while the default client waits for the window to reset once none are left.
    httpx.post(f"{fake}/stats/reset")
    out, client = _ask(fake, 40, concurrency=8)
    adaptive = httpx.get(f"{fake}/stats").json()["faults"].get("ratelimited", 0)
    assert all(c.ok for group in out for c in group)
    assert client.gate.pauses > 0
    assert adaptive < blind / 2, (adaptive, blind)


@pytest.mark.parametrize("fake", [("--ignore-n", "--reasoning-style", "reasoning_content")], indirect=True)
def test_a_provider_that_ignores_n_is_asked_one_at_a_time(fake):
    httpx.post(f"{fake}/stats/reset")
    out, client = _ask(fake, 5, n=3)
    assert [len(group) for group in out] == [3] * 5
    assert client.n_supported is False
    assert all(c.ok and c.reasoning and "The answer is 42." in c.content for group in out for c in group)
    assert httpx.get(f"{fake}/stats").json()["requests"] == 15


@pytest.mark.parametrize("fake", [("--reasoning-style", "reasoning")], indirect=True)
def test_n_samples_in_one_request_with_vllm_style_reasoning(fake):
    httpx.post(f"{fake}/stats/reset")
    out, client = _ask(fake, 4, n=4)
    assert [len(group) for group in out] == [4] * 4 and client.n_supported is True
    assert httpx.get(f"{fake}/stats").json()["requests"] == 4
    c = out[0][0]
    assert c.reasoning and c.content.endswith("The answer is 42.") and c.finish_reason == "stop"
    assert c.completion_tokens and c.prompt_tokens == 2 and c.latency_ms is not None


@pytest.mark.parametrize(
    "fake",
    [
        (
            "--rate-500",
            "1.0",
        )
    ],
    indirect=True,
)
def test_after_the_last_try_every_sample_comes_back_failed_with_its_cause(fake):
    out, _ = _ask(fake, 2, n=2, max_retries=2)
    assert [len(g) for g in out] == [2, 2]
    assert all(c.error == "http 500 after 3 tries" and c.cause == "http 500" for g in out for c in g)


def test_unreachable_endpoint_is_a_connection_failure():
    port = free_port()
    out, _ = _ask(f"http://127.0.0.1:{port}", 1, max_retries=1)
    assert out[0][0].error.startswith("connection: ") and out[0][0].cause == "connection"


R1 = "Okay, 2 + 2: two and two more.\nThat is 4.\n"  # an R1-Distill trace starts inside <think>


@pytest.mark.parametrize(
    ("content", "reasoning", "expected"),
    [
        # vLLM's qwen3 / deepseek_r1 parsers and DeepSeek's API: the server's split is kept as it is
        ("The answer is 4.", "2 + 2 = 4", ("The answer is 4.", "2 + 2 = 4")),
        ("left </think> as sent", "given", ("left </think> as sent", "given")),
        (None, "cut inside the trace", (None, "cut inside the trace")),
        # a leading <think> block (Qwen3 without a parser; the fake server's default)
        ("<think>a b</think>answer", None, ("answer", "a b")),
        ("\n<think>\na b\n</think>\n\nanswer", None, ("answer", "a b")),
        ("<think>cut short", None, ("", "cut short")),  # unclosed: truncated inside the trace
        # R1 without a reasoning parser: the template opened <think> in the prompt
        (f"{R1}</think>\n\nThe answer is 4.", None, ("The answer is 4.", R1.strip())),
        (f"{R1}</think>\n\n", None, ("", R1.strip())),  # cut right after the trace: no answer
        # no tag at all: nothing tells reasoning from answer, so it stays content (an R1 trace cut
        # before its </think> looks the same; finish_reason "length" marks it truncated)
        ("The answer is 4.", None, ("The answer is 4.", None)),
        (R1, None, (R1, None)),
        # a </think> after an opening tag that does not lead: not a block the teacher opened first
        ("Note: <think>x</think> y", None, ("Note: <think>x</think> y", None)),
        (None, None, (None, None)),
    ],
)
def test_reasoning_split_every_way_a_teacher_sends_it(content, reasoning, expected):
    assert split_reasoning(content, reasoning) == expected


def test_truncation_and_durations():
    assert Completion("x", finish_reason="length").truncated
    assert not Completion("x", finish_reason="stop").truncated
    assert parse_duration("6m0s") == 360 and parse_duration("20ms") == pytest.approx(0.02)
    assert parse_duration("1.5") == 1.5 and parse_duration("soon") is None and parse_duration(None) is None


@pytest.mark.parametrize("fake", [("--reasoning-style", "open_think", "--rate-length", "0.5")], indirect=True)
def test_an_r1_teacher_without_a_reasoning_parser_is_split_and_its_cut_traces_flagged(fake):
    """The text starts inside the <think> the prompt opened: reasoning before </think>, the answer after;
    a trace cut at max_tokens has no tag at all, so it stays content, marked truncated."""
    out, _ = _ask(fake, 40)
    done = [c for (c,) in out if c.finish_reason == "stop"]
    cut = [c for (c,) in out if c.finish_reason == "length"]
    assert done and cut and len(done) + len(cut) == 40
    for c in done:
        assert c.ok and not c.truncated and c.content.endswith("The answer is 42.")
        assert "</think>" not in c.content and "<think>" not in c.content
        assert c.reasoning and "</think>" not in c.reasoning and len(c.reasoning) > 2 * len(c.content)
    for c in cut:
        assert c.ok and c.truncated and c.reasoning is None
        assert c.content and "The answer is 42." not in c.content and "</think>" not in c.content


@pytest.mark.parametrize("fake", [("--api-key", "the-right-key")], indirect=True)
def test_a_provider_error_that_echoes_the_key_is_stored_without_it(fake):
    """A 401 body that repeats the wrong key (any shape of key, not only sk-...) keeps none of it."""
    key = "wrong-teacher-key-0123456789"
    results, _ = _ask(fake, 2, api_key=key)
    errors = [c.error for group in results for c in group]
    assert len(errors) == 2 and all(e.startswith("http 401") for e in errors), errors
    assert all("[REDACTED]" in e and key not in e for e in errors), errors
