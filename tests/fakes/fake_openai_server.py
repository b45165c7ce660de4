"""A FAKE OpenAI-compatible chat server of the project's own: instant answers for benchmarks, and
faults at set rates for tests (429 with Retry-After, 500, hangs past the client's timeout, dropped
connections, malformed JSON, empty content, finish_reason=length, NUL characters, a provider that
ignores n, and x-ratelimit-* headers). It stands in for paid APIs' failure modes, which cannot be
summoned here. Nothing is generated: every answer is the same precomputed text.

    python -m tests.fakes.fake_openai_server --port 8099 --rate-429 0.1 --rate-500 0.05

Endpoints: POST /v1/chat/completions, GET /v1/models, GET /health, GET /stats, POST /stats/reset.

Faults are drawn per request, in the order of FAULTS, each from a hash of (--seed, the conversation,
how many times this conversation was asked): the same conversations meet the same faults on every
run, whatever order concurrent requests arrive in.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("429", "500", "timeout", "reset", "malformed", "empty", "length", "nul")
# Faults a client must retry; a conversation's count of these is what --max-faults-per-prompt caps.
_RETRIED = ("429", "500", "timeout", "reset", "malformed", "empty")
STYLES = ("think", "reasoning_content", "reasoning", "none", "open_think")
WORDS = "so first we add the numbers then carry the one and check the sum again because care matters".split()
_JSON = "application/json"


@dataclass
class FakeServerConfig:
    host: str = field(default="127.0.0.1", metadata={"help": "address to bind"})
    port: int = field(default=8099, metadata={"help": "port to bind"})
    model: str = field(default="fake-teacher", metadata={"help": "model name in answers and /v1/models"})
    answer_bytes: int = field(default=2048, metadata={"help": "about this many bytes of text per choice"})
    max_model_len: int = field(
        default=0, metadata={"help": "context length listed in /v1/models as vLLM does (0: none listed)"}
    )
    reasoning_style: str = field(
        default="think",
        metadata={
            "help": "where the reasoning goes: think (<think>..</think> in content), reasoning_content "
            "(DeepSeek), reasoning (vLLM's parsers), none (one plain text), open_think (an R1 template "
            "opened <think> in the prompt and no reasoning parser runs: ..</think> answer in content)",
            "choices": STYLES,
        },
    )
    rate_429: float = field(default=0.0, metadata={"help": "share of requests answered 429"})
    retry_after: float = field(default=0.05, metadata={"help": "Retry-After seconds on a 429"})
    rate_500: float = field(default=0.0, metadata={"help": "share of requests answered 500"})
    rate_timeout: float = field(default=0.0, metadata={"help": "share of requests that hang --hang-s first"})
    hang_s: float = field(default=5.0, metadata={"help": "how long a hanging request sleeps"})
    rate_reset: float = field(default=0.0, metadata={"help": "share of connections dropped, no response"})
    rate_malformed: float = field(default=0.0, metadata={"help": "share of 200s whose body is not JSON"})
    rate_empty: float = field(default=0.0, metadata={"help": "share of 200s whose choices are all empty"})
    rate_length: float = field(default=0.0, metadata={"help": "share cut short with finish_reason=length"})
    rate_nul: float = field(default=0.0, metadata={"help": "share with a NUL character in the answer"})
    seed: int = field(default=0, metadata={"help": "seed of the fault draws"})
    max_faults_per_prompt: int = field(
        default=0, metadata={"help": "0: no cap; else a conversation meets at most this many retried faults"}
    )
    ignore_n: bool = field(default=False, metadata={"help": "answer one choice whatever n asks for"})
    api_key: str = field(
        default="",
        metadata={
            "help": "answer 401 to any other key, echoing the key sent in the error body as some providers "
            "do (empty: no key checked)"
        },
    )
    fail_marker: str = field(
        default="ALWAYS_FAIL", metadata={"help": "messages containing this text always get HTTP 500"}
    )
    ratelimit_requests: int = field(
        default=0, metadata={"help": "requests per window, with x-ratelimit-* headers (0: off)"}
    )
    ratelimit_window_s: float = field(default=1.0, metadata={"help": "the rate-limit window in seconds"})
    latency_s: float = field(default=0.0, metadata={"help": "sleep this long before each normal answer"})
    answers: str = field(
        default="",
        metadata={
            "help": "comma-separated final answers: choice i of a request ends 'Answer: answers[i %% k]' "
            "instead of 'The answer is 42.' (a teacher that is sometimes wrong, for verifiers)"
        },
    )
    answer_map: str = field(
        default="",
        metadata={
            "help": "a JSON file {marker: answer}: a request whose last message contains a marker gets that "
            "answer as content (after the reasoning), e.g. a code solution per HumanEval problem"
        },
    )
    math: bool = field(
        default=False,
        metadata={
            "help": "answer 'Problem <i>: ...' prompts with tests/fakes/math_teacher.py's attempts (about "
            "2 KB of chain of thought and a boxed answer, right, wrong or missing; choice j is attempt j)"
        },
    )
    judge_scores: str = field(
        default="",
        metadata={
            "help": 'act as a judge: \'V=S,...\' answers {"score": S, "rationale": ...} as JSON when the '
            "last message contains 'Answer: V', and a reply with no score otherwise (an unparseable verdict)"
        },
    )


def _text(nbytes: int, rng: random.Random) -> str:
    out, size = [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def _words(msg: dict[str, Any]) -> int:
    return sum(len(v.split()) for k, v in msg.items() if k != "role" and isinstance(v, str))


def _prompt_texts(messages: list[Any]) -> list[str]:
    out = []
    for m in messages:
        c = m.get("content") if isinstance(m, dict) else None
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):  # content parts: [{"type": "text", "text": ...}, ...]
            out.extend(p["text"] for p in c if isinstance(p, dict) and isinstance(p.get("text"), str))
    return out


class FakeOpenAIServer:
    """The handlers and their state; one instance per server (one event loop, so no locks)."""

    def __init__(self, cfg: FakeServerConfig):
        if cfg.reasoning_style not in STYLES:
            raise ValueError(f"reasoning_style must be one of {STYLES}, not {cfg.reasoning_style!r}")
        self.cfg = cfg
        self.tries: Counter[bytes] = Counter()
        self.faulted: Counter[bytes] = Counter()
        self.stats: Counter[str] = Counter()
        self.max_tokens: Counter[str] = Counter()  # max_tokens as each request sent it ("None": unset)
        self.budgets: Counter[str] = Counter()  # vLLM's thinking_token_budget as sent ("None": unset)
        self.requests = 0
        self.window_start = time.monotonic()
        self.window_used = 0
        self.rates = {k: getattr(cfg, f"rate_{k}") for k in FAULTS}
        self.any_faults = any(r > 0 for r in self.rates.values())
        reasoning_len = cfg.answer_bytes * 3 // 4
        self.reasoning = _text(reasoning_len, random.Random(1))
        self.answer = _text(max(cfg.answer_bytes - reasoning_len - 20, 1), random.Random(2))
        self.answer += " The answer is 42."
        self._answer_map: dict[str, str] = (
            orjson.loads(Path(cfg.answer_map).read_bytes()) if cfg.answer_map else {}
        )
        self._model = orjson.dumps(cfg.model)
        # variant -> (one choice's JSON with a %d for its index, its completion words)
        self._choice: dict[str, tuple[bytes, int]] = {}
        for variant in ("stop", "empty", "length", "nul"):
            msg = self._message(variant)
            finish = b"length" if variant == "length" else b"stop"
            tmpl = b'{"index":%%d,"message":%s,"finish_reason":"%s"}' % (orjson.dumps(msg), finish)
            self._choice[variant] = (tmpl, _words(msg))
        self._choices: dict[tuple[str, int], tuple[bytes, int]] = {}  # (variant, n) -> choices, words
        self._alternatives: list[tuple[bytes, int]] = []  # --answers: one "stop" choice per answer
        base = self.answer
        for final in filter(None, (a.strip() for a in cfg.answers.split(","))):
            self.answer = base.removesuffix(" The answer is 42.") + f"\nAnswer: {final}"
            msg = self._message("stop")
            tmpl = b'{"index":%%d,"message":%s,"finish_reason":"stop"}' % orjson.dumps(msg)
            self._alternatives.append((tmpl, _words(msg)))
        self.answer = base

    # -- answers --------------------------------------------------------------------------------

    def _message(self, variant: str) -> dict[str, str]:
        style, reasoning, answer = self.cfg.reasoning_style, self.reasoning, self.answer
        if variant == "empty":
            return {"role": "assistant", "content": ""}
        if variant == "nul":  # small models emit these; PostgreSQL text refuses them
            answer = answer.replace("The answer is", "The\x00answer is")
        if variant == "length":  # cut at max_tokens, inside the reasoning
            cut = reasoning[: len(reasoning) // 2]
            if style == "think":
                return {"role": "assistant", "content": f"<think>{cut}"}  # unclosed
            if style in ("none", "open_think"):  # open_think: cut before its </think>, so no tag at all
                return {"role": "assistant", "content": cut}
            return {"role": "assistant", "content": "", style: cut}
        if style == "think":
            return {"role": "assistant", "content": f"<think>{reasoning}</think>{answer}"}
        if style == "none":
            return {"role": "assistant", "content": f"{reasoning} {answer}"}
        if style == "open_think":
            return {"role": "assistant", "content": f"{reasoning}\n</think>\n\n{answer}"}
        return {"role": "assistant", "content": answer, style: reasoning}

    def _choices_for(self, variant: str, n: int) -> tuple[bytes, int]:
        hit = self._choices.get((variant, n))
        if hit is None and variant == "stop" and self._alternatives:
            alts = [self._alternatives[i % len(self._alternatives)] for i in range(n)]
            hit = (b",".join(t % i for i, (t, _) in enumerate(alts)), sum(w for _, w in alts))
            self._choices[(variant, n)] = hit
        if hit is None:
            tmpl, words = self._choice[variant]
            hit = (b",".join(tmpl % i for i in range(n)), words * n)
            if n <= 256:
                self._choices[(variant, n)] = hit
        return hit

    def _body(self, variant: str, n: int, prompt_tokens: int) -> bytes:
        choices, completion = self._choices_for(variant, n)
        return (
            b'{"id":"chatcmpl-fake-%d","object":"chat.completion","created":%d,"model":%s,'
            b'"choices":[%s],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}'
            % (
                self.requests,
                int(time.time()),
                self._model,
                choices,
                prompt_tokens,
                completion,
                prompt_tokens + completion,
            )
        )

    # -- faults ---------------------------------------------------------------------------------

    def _ratelimit(self) -> tuple[dict[str, str] | None, bool]:
        """OpenAI-style headers; True when this request is over the window's budget."""
        k = self.cfg.ratelimit_requests
        if not k:
            return None, False
        now = time.monotonic()
        if now - self.window_start >= self.cfg.ratelimit_window_s:
            self.window_start, self.window_used = now, 0
        over = self.window_used >= k
        if not over:
            self.window_used += 1
        reset = max(self.cfg.ratelimit_window_s - (now - self.window_start), 0.0)
        return {
            "x-ratelimit-limit-requests": str(k),
            "x-ratelimit-remaining-requests": str(k - self.window_used),
            "x-ratelimit-reset-requests": f"{reset:.3f}s",
        }, over

    def _faults(self, messages: list[Any]) -> set[str]:
        """The fault kinds this request meets: one uniform draw per kind from a hash of (seed,
        conversation, how often it was seen), so the same conversation meets the same faults whatever
        order requests arrive in."""
        key = hashlib.sha1(orjson.dumps(messages)).digest()
        self.tries[key] += 1
        cap = self.cfg.max_faults_per_prompt
        if cap and self.faulted[key] >= cap:
            return set()
        out = set()
        for kind, rate in self.rates.items():
            if rate <= 0:
                continue
            msg = b"%d|%s|%d|%s" % (self.cfg.seed, key, self.tries[key], kind.encode())
            if int.from_bytes(hashlib.blake2b(msg, digest_size=8).digest()) / 2**64 < rate:
                out.add(kind)
        if not out.isdisjoint(_RETRIED):
            self.faulted[key] += 1
        return out

    # -- handlers -------------------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        cfg = self.cfg
        try:
            body = orjson.loads(await request.read())
            messages = body["messages"]
            n = 1 if cfg.ignore_n else int(body.get("n") or 1)
            if not isinstance(messages, list) or n < 1:
                raise ValueError
            self.max_tokens[str(body.get("max_tokens"))] += 1
            self.budgets[str(body.get("thinking_token_budget"))] += 1
        except (ValueError, TypeError, KeyError):
            error = {"message": "bad request: no messages list", "type": "invalid_request_error"}
            return web.json_response({"error": error}, status=400)
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if cfg.api_key and sent != cfg.api_key:
            error = {"message": f"Incorrect API key provided: {sent}.", "type": "invalid_request_error"}
            return web.json_response({"error": error}, status=401)
        texts = _prompt_texts(messages)
        if cfg.fail_marker and any(cfg.fail_marker in t for t in texts):
            self.stats["marker"] += 1
            return web.Response(status=500, text="fake permanent failure")
        headers, over = self._ratelimit()
        if over:
            self.stats["ratelimited"] += 1
            return web.Response(status=429, headers={**headers, "Retry-After": str(cfg.retry_after)})
        faults = self._faults(messages) if self.any_faults else ()
        if faults:
            for kind in FAULTS:
                if kind in faults and kind not in ("empty", "length", "nul"):
                    self.stats[kind] += 1
                    if kind == "429":
                        return web.Response(
                            status=429, headers={"Retry-After": str(cfg.retry_after)}, text="slow down"
                        )
                    if kind == "500":
                        return web.Response(status=500, text="fake internal error")
                    if kind == "timeout":  # the client should have given up by the time this answers
                        await asyncio.sleep(cfg.hang_s)
                    elif kind == "reset":
                        if request.transport is not None:
                            request.transport.abort()
                        # Writing this to the aborted transport fails; aiohttp drops it quietly.
                        return web.Response(status=500, text="reset")
                    elif kind == "malformed":
                        return web.Response(body=b'{"choices": [', content_type=_JSON, headers=headers)
        if cfg.latency_s:
            await asyncio.sleep(cfg.latency_s)
        variant = "stop"
        for kind in ("empty", "nul", "length"):
            if kind in faults:
                self.stats[kind] += 1
                variant = kind
                break
        if cfg.judge_scores:
            return web.Response(body=self._judge_body(texts), content_type=_JSON, headers=headers)
        if cfg.math and variant == "stop":
            mathed = self._math_body(texts, n)
            if mathed is not None:
                return web.Response(body=mathed, content_type=_JSON, headers=headers)
        if self._answer_map and variant == "stop":
            mapped = self._mapped_body(texts, n)
            if mapped is not None:
                return web.Response(body=mapped, content_type=_JSON, headers=headers)
        payload = self._body(variant, n, sum(len(t.split()) for t in texts))
        return web.Response(body=payload, content_type=_JSON, headers=headers)

    def _mapped_body(self, texts: list[str], n: int) -> bytes | None:
        last = texts[-1] if texts else ""
        answer = next((a for marker, a in self._answer_map.items() if marker in last), None)
        if answer is None:
            return None
        self.answer, base = answer, self.answer
        msg = self._message("stop")
        self.answer = base
        choices = [{"index": i, "message": msg, "finish_reason": "stop"} for i in range(n)]
        words = _words(msg) * n
        usage = {"prompt_tokens": len(last.split()), "completion_tokens": words,
                 "total_tokens": len(last.split()) + words}  # fmt: skip
        return orjson.dumps({"id": f"chatcmpl-fake-{self.requests}", "object": "chat.completion",
                             "created": int(time.time()), "model": self.cfg.model, "choices": choices,
                             "usage": usage})  # fmt: skip

    def _math_body(self, texts: list[str], n: int) -> bytes | None:
        from tests.fakes.math_teacher import completion, number_of

        i = number_of(texts[-1]) if texts else None
        if i is None:
            return None
        contents = [completion(i, j) for j in range(n)]
        choices = [{"index": j, "message": {"role": "assistant", "content": c}, "finish_reason": f}
                   for j, (c, f) in enumerate(contents)]  # fmt: skip
        words = sum(len(c.split()) for c, _ in contents)
        prompt = len(texts[-1].split())
        usage = {"prompt_tokens": prompt, "completion_tokens": words, "total_tokens": prompt + words}
        return orjson.dumps({"id": f"chatcmpl-fake-{self.requests}", "object": "chat.completion",
                             "created": int(time.time()), "model": self.cfg.model, "choices": choices,
                             "usage": usage})  # fmt: skip

    def _judge_body(self, texts: list[str]) -> bytes:
        last = texts[-1] if texts else ""
        content = "I cannot tell."
        for pair in filter(None, (p.strip() for p in self.cfg.judge_scores.split(","))):
            value, _, score = pair.partition("=")
            if f"Answer: {value}" in last:
                content = orjson.dumps(
                    {"score": float(score), "rationale": f"the answer is {value}"}
                ).decode()
                break
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        usage = {"prompt_tokens": len(last.split()), "completion_tokens": len(content.split()),
                 "total_tokens": len(last.split()) + len(content.split())}  # fmt: skip
        return orjson.dumps({"id": f"chatcmpl-judge-{self.requests}", "object": "chat.completion",
                             "created": int(time.time()), "model": self.cfg.model, "choices": [choice],
                             "usage": usage})  # fmt: skip

    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def models(self, _request: web.Request) -> web.Response:
        data = [{"id": self.cfg.model, "object": "model", "created": 0, "owned_by": "fake"}]
        if self.cfg.max_model_len:
            data[0]["max_model_len"] = self.cfg.max_model_len  # as vLLM lists it
        return web.json_response({"object": "list", "data": data})

    def _stats(self) -> dict[str, Any]:
        faults = {k: self.stats.get(k, 0) for k in (*FAULTS, "ratelimited", "marker")}
        return {"requests": self.requests, "faults": faults, "max_tokens": dict(self.max_tokens),
                "thinking_token_budget": dict(self.budgets)}  # fmt: skip

    async def get_stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self._stats())

    async def reset_stats(self, _request: web.Request) -> web.Response:
        self.requests = 0
        self.stats.clear()
        self.max_tokens.clear()
        self.budgets.clear()
        self.tries.clear()
        self.faulted.clear()
        return web.json_response(self._stats())

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/stats/reset", self.reset_stats)
        return app


def parse_args(argv: list[str] | None = None) -> FakeServerConfig:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in fields(FakeServerConfig):
        flag = "--" + f.name.replace("_", "-")
        helptext = f.metadata.get("help", "")
        if f.type == "bool":
            p.add_argument(flag, action="store_true", help=helptext)
        else:
            kind = {"int": int, "float": float}.get(f.type, str)
            p.add_argument(
                flag,
                type=kind,
                default=f.default,
                choices=f.metadata.get("choices"),
                help=f"{helptext} (default: %(default)s)",
            )
    return FakeServerConfig(**vars(p.parse_args(argv)))


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # about 10% more requests/s where installed (uvicorn[standard] brings it)

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def serve(cfg: FakeServerConfig) -> None:
    """Serve until SIGINT/SIGTERM (in the main thread)."""
    print(f"fake openai server on http://{cfg.host}:{cfg.port}: {cfg}", file=sys.stderr, flush=True)
    web.run_app(
        FakeOpenAIServer(cfg).app(),
        host=cfg.host,
        port=cfg.port,
        print=None,
        access_log=None,
        shutdown_timeout=0.5,  # hanging requests are not waited for
        loop=_loop(),
    )


def main(argv: list[str] | None = None) -> None:
    serve(parse_args(argv))


def start_fake_server(
    port: int, *args: str, log_path: Path | str | None = None, module: str = "tests.fakes.fake_openai_server"
) -> subprocess.Popen:
    """Run a fake server (this one, or another fake `module` taking --port) as a subprocess on
    127.0.0.1:port and wait until /health answers."""
    import httpx

    log_path = Path(log_path) if log_path else None

    def tail() -> str:
        return log_path.read_text(errors="replace")[-2000:] if log_path and log_path.exists() else ""

    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    with open(log_path, "ab") if log_path else open(os.devnull, "wb") as log:  # the child keeps its own
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(port), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": pythonpath},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    with httpx.Client(trust_env=False, timeout=1) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"fake server exited with {proc.returncode}: {tail()}")
            try:
                if http.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    stop_fake_server(proc)
    raise RuntimeError(f"fake server did not answer /health within 30 s: {tail()}")


def stop_fake_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


if __name__ == "__main__":
    main()
