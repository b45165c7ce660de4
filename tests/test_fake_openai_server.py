"""The project's fake OpenAI-compatible server: answers of the right shape, and each fault it injects
behaves as the client tests and benchmarks rely on."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.core.net import free_port
from tests.fakes.fake_openai_server import (
    FakeOpenAIServer,
    FakeServerConfig,
    parse_args,
    start_fake_server,
    stop_fake_server,
)
from workers.teachers.base import split_reasoning
from workers.teachers.openai_compat import parse_duration

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "what is six times seven"},
]  # 3 + 5 words


@contextmanager
def fake(*args: str, tmp_path=None) -> Iterator[httpx.Client]:
    port = free_port()
    proc = start_fake_server(port, *args, log_path=tmp_path / "fake.log" if tmp_path else None)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as http:
            yield http
    finally:
        stop_fake_server(proc)
    assert proc.returncode is not None


def ask(http: httpx.Client, messages=MESSAGES, **body) -> httpx.Response:
    return http.post("/v1/chat/completions", json={"model": "fake-teacher", "messages": messages, **body})


def test_instant_answer_has_n_choices_usage_and_think_reasoning(tmp_path):
    with fake("--model", "teacher-x", tmp_path=tmp_path) as http:
        assert http.get("/health").text == "ok"
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["teacher-x"]
        r = ask(http, n=3, max_tokens=512, temperature=0.7, seed=1, stop=["\n\n"])
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        data = r.json()
        assert data["object"] == "chat.completion" and data["model"] == "teacher-x"
        assert data["id"].startswith("chatcmpl-") and abs(data["created"] - time.time()) < 60
        assert [c["index"] for c in data["choices"]] == [0, 1, 2]
        words = 0
        for c in data["choices"]:
            msg = c["message"]
            assert msg["role"] == "assistant" and c["finish_reason"] == "stop"
            assert msg["content"].startswith("<think>") and msg["content"].endswith("The answer is 42.")
            answer, reasoning = split_reasoning(msg["content"], None)
            assert "</think>" not in answer and len(reasoning) > 2 * len(answer)  # about 3/4 reasoning
            assert 1800 < len(msg["content"]) < 2300  # --answer-bytes 2048
            words += len(msg["content"].split())
        assert data["usage"] == {"prompt_tokens": 8, "completion_tokens": words, "total_tokens": 8 + words}
        # The fail marker anywhere in the messages is a permanent 500, counted apart from faults.
        marked = [*MESSAGES, {"role": "user", "content": "please ALWAYS_FAIL now"}]
        assert [ask(http, messages=marked).status_code for _ in range(3)] == [500] * 3
        assert ask(http, messages=[]).status_code == 200  # an empty conversation is still answered
        assert http.post("/v1/chat/completions", content=b"not json").status_code == 400
        stats = http.get("/stats").json()
        assert stats["requests"] == 6 and stats["faults"]["marker"] == 3
        assert sum(v for k, v in stats["faults"].items() if k != "marker") == 0


def test_ignore_n_answers_one_choice(tmp_path):
    with fake("--ignore-n", "--answer-bytes", "400", tmp_path=tmp_path) as http:
        data = ask(http, n=4).json()
        assert len(data["choices"]) == 1
        assert data["usage"]["completion_tokens"] == len(data["choices"][0]["message"]["content"].split())
        assert len(data["choices"][0]["message"]["content"]) < 500


def test_every_request_gets_429_with_retry_after(tmp_path):
    with fake("--rate-429", "1.0", "--retry-after", "0.25", tmp_path=tmp_path) as http:
        rs = [ask(http, messages=[{"role": "user", "content": f"q{i}"}]) for i in range(5)]
        assert [r.status_code for r in rs] == [429] * 5
        assert {r.headers["retry-after"] for r in rs} == {"0.25"}
        assert http.get("/stats").json()["faults"]["429"] == 5


def test_length_cuts_the_trace_inside_an_unclosed_think(tmp_path):
    with fake("--rate-length", "1.0", tmp_path=tmp_path) as http:
        data = ask(http, n=2).json()
        assert [c["finish_reason"] for c in data["choices"]] == ["length", "length"]
        content = data["choices"][0]["message"]["content"]
        assert content.startswith("<think>") and "</think>" not in content and len(content) < 1200
        assert split_reasoning(content, None)[0] == ""  # all reasoning, no answer
        assert http.get("/stats").json()["faults"]["length"] == 1


def test_malformed_is_a_200_that_is_not_json(tmp_path):
    with fake("--rate-malformed", "1.0", tmp_path=tmp_path) as http:
        r = ask(http)
        assert r.status_code == 200 and r.content.startswith(b'{"choices"')
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(r.content)


def test_reset_drops_the_connection_and_timeout_outlasts_the_client(tmp_path):
    with fake("--rate-reset", "1.0", tmp_path=tmp_path) as http:
        with pytest.raises(httpx.TransportError):  # RemoteProtocolError: disconnected, no response
            ask(http)
        assert http.get("/health").text == "ok"  # the server lives on
        assert http.get("/stats").json()["faults"]["reset"] == 1
    with fake("--rate-timeout", "1.0", "--hang-s", "2", tmp_path=tmp_path) as http:
        t0 = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.post("/v1/chat/completions", json={"messages": MESSAGES}, timeout=0.3)
        assert time.monotonic() - t0 < 1.5
        assert http.get("/stats").json()["faults"]["timeout"] == 1


def test_ratelimit_headers_count_down_and_reset(tmp_path):
    with fake("--ratelimit-requests", "3", "--ratelimit-window-s", "1.0", tmp_path=tmp_path) as http:
        rs = [ask(http) for _ in range(4)]
        assert [r.status_code for r in rs] == [200, 200, 200, 429]
        assert [r.headers["x-ratelimit-remaining-requests"] for r in rs] == ["2", "1", "0", "0"]
        assert {r.headers["x-ratelimit-limit-requests"] for r in rs} == {"3"}
        assert "retry-after" in rs[3].headers and "retry-after" not in rs[0].headers
        resets = [parse_duration(r.headers["x-ratelimit-reset-requests"]) for r in rs]
        assert all(0 < s <= 1.0 for s in resets) and resets == sorted(resets, reverse=True)
        time.sleep(resets[3] + 0.05)  # the window has turned
        r = ask(http)
        assert r.status_code == 200 and r.headers["x-ratelimit-remaining-requests"] == "2"
        assert parse_duration(r.headers["x-ratelimit-reset-requests"]) > 0.8
        assert http.get("/stats").json()["faults"]["ratelimited"] == 1


def test_stats_count_faults_at_their_rate_and_the_seed_repeats_them(tmp_path):
    convs = [[{"role": "user", "content": f"question {i}"}] for i in range(60)]
    with fake("--rate-500", "0.3", "--rate-empty", "0.3", "--seed", "7", tmp_path=tmp_path) as http:
        first = [ask(http, messages=m) for m in convs]
        stats = http.get("/stats").json()
        codes = [r.status_code for r in first]
        contents = [r.json()["choices"][0]["message"]["content"] for r in first if r.status_code == 200]
        empty = contents.count("")
        assert stats["requests"] == 60
        assert stats["faults"]["500"] == codes.count(500) and 6 <= codes.count(500) <= 32
        assert stats["faults"]["empty"] == empty and 3 <= empty <= 30
        assert stats["faults"]["429"] == stats["faults"]["reset"] == 0
        # After a reset the same conversations meet the same faults; asked again, others.
        assert http.post("/stats/reset").json()["requests"] == 0
        assert [ask(http, messages=m).status_code for m in convs] == codes
        assert [ask(http, messages=m).status_code for m in convs] != codes
        assert http.get("/stats").json()["requests"] == 120


def test_fault_draws_depend_on_seed_and_respect_the_cap():
    def faulted(**kw) -> list[bool]:
        server = FakeOpenAIServer(FakeServerConfig(**kw))
        return [bool(server._faults([{"role": "user", "content": f"q{i}"}])) for i in range(2000)]

    a, b = faulted(rate_500=0.3, seed=1), faulted(rate_500=0.3, seed=2)
    assert a == faulted(rate_500=0.3, seed=1) and a != b
    assert 500 < sum(a) < 700
    server = FakeOpenAIServer(FakeServerConfig(rate_429=1.0, max_faults_per_prompt=2))
    conv = [{"role": "user", "content": "again"}]
    assert [server._faults(conv) for _ in range(4)] == [{"429"}, {"429"}, set(), set()]


@pytest.mark.parametrize("style", ["reasoning_content", "reasoning", "none"])
def test_reasoning_styles_in_process(style):
    async def go() -> tuple[dict, dict]:
        app = FakeOpenAIServer(FakeServerConfig(reasoning_style=style)).app()
        cut = FakeOpenAIServer(FakeServerConfig(reasoning_style=style, rate_length=1.0)).app()
        out = []
        for a in (app, cut):
            async with TestClient(TestServer(a)) as client:
                r = await client.post("/v1/chat/completions", json={"messages": MESSAGES})
                assert r.status == 200
                out.append((await r.json())["choices"][0])
        return out[0], out[1]

    full, cut = asyncio.run(go())
    msg = full["message"]
    assert msg["content"].endswith("The answer is 42.") and "<think>" not in msg["content"]
    assert cut["finish_reason"] == "length" and "The answer is 42." not in str(cut["message"])
    if style == "none":
        assert set(msg) == {"role", "content"} and len(msg["content"]) > 1800
        assert cut["message"]["content"]
    else:
        assert len(msg[style]) > 2 * len(msg["content"])
        assert cut["message"]["content"] == "" and msg[style].startswith(cut["message"][style])


def test_cli_and_start_failure(tmp_path):
    cfg = parse_args(["--rate-429", "0.5", "--ignore-n", "--reasoning-style", "none", "--port", "1"])
    assert (cfg.rate_429, cfg.ignore_n, cfg.reasoning_style, cfg.port) == (0.5, True, "none", 1)
    assert parse_args([]) == FakeServerConfig()
    with pytest.raises(SystemExit):
        parse_args(["--reasoning-style", "sideways"])
    # A port already taken: the child exits, and the error carries its log.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(RuntimeError, match="(?i)address already in use"):
            start_fake_server(s.getsockname()[1], log_path=tmp_path / "taken.log")


def test_math_answers_each_problem_by_its_number_in_process():
    from tests.fakes.math_teacher import completion, problem

    async def go() -> list[dict]:
        app = FakeOpenAIServer(FakeServerConfig(math=True)).app()
        async with TestClient(TestServer(app)) as client:
            out = []
            for text in (problem(7)[0], problem(123)[0], "no problem number here"):
                r = await client.post(
                    "/v1/chat/completions", json={"messages": [{"role": "user", "content": text}], "n": 4}
                )
                assert r.status == 200
                out.append(await r.json())
            return out

    seven, other, plain = asyncio.run(go())
    assert [(c["message"]["content"], c["finish_reason"]) for c in seven["choices"]] == [
        completion(7, j) for j in range(4)
    ]
    assert other["choices"][0]["message"]["content"] == completion(123, 0)[0] != completion(7, 0)[0]
    assert all(c["message"]["content"].endswith("The answer is 42.") for c in plain["choices"])
    words = sum(len(completion(7, j)[0].split()) for j in range(4))
    assert seven["usage"]["completion_tokens"] == words


def test_math_teacher_attempts_are_about_2kb_and_mixed():
    from tests.fakes.math_teacher import completion, number_of, problem

    kinds = {problem(i)[2] for i in range(200)}
    assert kinds == {"integer", "fraction", "symbolic", "polynomial"}
    texts = [completion(i, j) for i in range(100) for j in range(4)]
    assert all(1800 < len(t) < 2400 for t, _ in texts)
    boxed = sum("\\boxed{" in t for t, _ in texts)
    assert 0.8 * len(texts) < boxed < 0.95 * len(texts)  # the rest state no answer or are cut off
    assert {f for t, f in texts if not t.rstrip().endswith("</think>") and "</think>" not in t} == {"length"}
    assert number_of(problem(4321)[0]) == 4321 and number_of("Problem: none") is None
    assert completion(5, 1) == completion(5, 1) != completion(5, 2)  # a pure function of (problem, attempt)
