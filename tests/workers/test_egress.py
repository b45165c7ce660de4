"""The egress policy (backend/core/egress.py): under production settings a teacher, judge, probe or
synthesis URL that reaches loopback, private or link-local addresses is refused before any connection
(a listening socket that records connections sees none), unless DISTILLERY_EGRESS_ALLOW lists it; a
'#' in the URL and redirects are refused everywhere."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.core.config import Settings
from backend.core.egress import EgressPolicy, blocked_reason
from backend.core.net import free_port
from workers.jobs.teacher_probe import context_length
from workers.teachers.base import Sampling
from workers.teachers.openai_compat import OpenAICompatClient

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

REPLY = {
    "choices": [{"message": {"content": "42"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}


class Recorder(ThreadingHTTPServer):
    """An HTTP server that counts every connection it accepts; answers a chat completion, or a 303 to
    `redirect_to` where one is set."""

    daemon_threads = True

    def __init__(self, host: str, redirect_to: str | None = None):
        self.connections = 0
        self.redirect_to = redirect_to
        super().__init__((host, free_port()), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def verify_request(self, request, client_address) -> bool:
        self.connections += 1
        return True

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.redirect_to:
            self.send_response(303)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(REPLY if self.command == "POST" else {"data": [{"id": "m", "max_model_len": 99}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_POST = do_GET = _answer


@pytest.fixture
def recorder():
    servers: list[Recorder] = []

    def make(host: str = "127.0.0.1", redirect_to: str | None = None) -> Recorder:
        servers.append(Recorder(host, redirect_to))
        return servers[-1]

    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


def production(allow: str = "") -> EgressPolicy:
    settings = Settings(environment="production", secret_key="x" * 32, egress_allow=allow)
    return EgressPolicy.from_settings(settings)


def _ask(base_url: str, policy: EgressPolicy | None) -> list:
    client = OpenAICompatClient(
        base_url=base_url,
        model="m",
        sampling=Sampling(max_tokens=8),
        backoff_s=0.2,
        max_retries=3,
        egress=policy,
    )
    return asyncio.run(client.chat_many([[{"role": "user", "content": "q"}]]))[0]


def test_production_is_strict_by_default_and_development_is_not():
    assert production().strict
    assert not EgressPolicy.from_settings(Settings(environment="development")).strict
    assert EgressPolicy.from_settings(Settings(environment="development", egress_strict=True)).strict
    assert not EgressPolicy.from_settings(
        Settings(environment="production", secret_key="x" * 32, egress_strict=False)
    ).strict
    assert Settings(egress_strict="").egress_strict is None  # `DISTILLERY_EGRESS_STRICT=` means unset
    assert blocked_reason(__import__("ipaddress").ip_address("100.64.1.1")) == "shared (CGNAT)"
    assert blocked_reason(__import__("ipaddress").ip_address("::ffff:127.0.0.1")) == "loopback"
    assert blocked_reason(__import__("ipaddress").ip_address("8.8.8.8")) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/v1",  # PostgreSQL
        "http://127.0.0.1:6379/v1",  # Redis
        "http://10.1.2.3/v1",
        "http://172.16.0.9/v1",
        "http://192.168.1.1/v1",
        "http://100.64.0.1/v1",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8000/v1",
        "http://[fd00::1]/v1",
        "http://0.0.0.0:8000/v1",
        "http://224.0.0.1/v1",
        "http://240.0.0.1/v1",
        "http://2130706433:8000/v1",  # 127.0.0.1 as one number: not an IP to ipaddress, but to the resolver
        "http://0x7f.0.0.1:8000/v1",
        "http://[::ffff:127.0.0.1]:8000/v1",
    ],
)
def test_refused_addresses_under_production(url):
    [c] = _ask(url, production())
    assert not c.ok and "egress policy refused" in c.error, c.error
    assert "tries" not in c.error  # refused at once: a retried failure ends "after N tries"


def test_loopback_listener_sees_no_connection(recorder):
    server = recorder()
    [c] = _ask(f"{server.url}/v1", production())
    assert "egress policy refused 127.0.0.1: a loopback address" in c.error
    assert server.connections == 0
    # the same listener, allowed by the setting (host or network), answers
    for allow in ("127.0.0.1", "10.0.0.0/8, 127.0.0.0/8"):
        [c] = _ask(f"{server.url}/v1", production(allow))
        assert c.ok and c.content == "42", c.error
    assert server.connections >= 2


def test_a_hostname_resolving_to_loopback_is_refused_at_connect_time(recorder):
    server = recorder()
    port = server.server_address[1]
    [c] = _ask(f"http://localhost:{port}/v1", production())
    assert "egress policy refused localhost (" in c.error and "loopback" in c.error, c.error
    assert server.connections == 0 and "tries" not in c.error
    [c] = _ask(f"http://localhost:{port}/v1", production("localhost"))
    assert c.ok, c.error


def test_a_fragment_is_refused_everywhere(recorder):
    server = recorder()
    for policy in (production("127.0.0.1"), EgressPolicy.build(strict=False)):
        [c] = _ask(f"{server.url}/admin/flush#", policy)
        assert not c.ok and "fragment" in c.error
    [c] = _ask(f"http://user:pw@{server.url[7:]}/v1", EgressPolicy.build(strict=False))
    assert not c.ok and "credentials" in c.error
    assert server.connections == 0


def test_a_redirect_to_an_internal_url_is_not_followed(recorder):
    internal = recorder("127.0.0.2")
    provider = recorder(redirect_to=f"{internal.url}/internal")
    for policy in (production("127.0.0.1"), EgressPolicy.build(strict=False)):
        [c] = _ask(f"{provider.url}/v1", policy)
        assert not c.ok and c.error.startswith("http 303") and "not followed" in c.error
        assert asyncio.run(context_length(f"{provider.url}/v1", "m", None, 5, policy)) is None
    assert provider.connections >= 2 and internal.connections == 0


def test_the_probe_context_length_is_checked_too(recorder):
    server = recorder()
    assert asyncio.run(context_length(f"{server.url}/v1", "m", None, 5, production())) is None
    port = server.server_address[1]
    assert asyncio.run(context_length(f"http://localhost:{port}/v1", "m", None, 5, production())) is None
    assert server.connections == 0
    assert asyncio.run(context_length(f"{server.url}/v1", "m", None, 5, production("127.0.0.1"))) == 99


def test_every_endpoint_client_gets_the_policy_but_the_workers_own_vllm(monkeypatch):
    """Rollout, judge, evaluate and the probe build clients through make_teacher, synthesis builds an
    OpenAICompatClient itself: both take the settings' policy; only a vLLM server this worker started
    (on its own loopback) goes unchecked."""
    from workers.teachers.factory import TeacherSpec, make_teacher

    strict = production()
    monkeypatch.setattr(EgressPolicy, "current", classmethod(lambda cls: strict))
    for backend in ("openai_compat", "vllm"):
        spec = TeacherSpec(backend, "m", "http://10.0.0.1/v1", None)
        assert make_teacher(spec, Sampling()).egress == strict
    assert OpenAICompatClient(base_url="http://10.0.0.1/v1", model="m").egress == strict
    [c] = _ask("http://10.0.0.1/v1", EgressPolicy.current())
    assert "egress policy refused" in c.error
