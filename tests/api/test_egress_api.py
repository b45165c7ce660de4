"""The API refuses a teacher base_url the egress policy refuses (backend/core/egress.py): a literal
private or loopback IP, or a name resolving to one, under production settings; a '#' or credentials
in the URL anywhere. The worker checks again at connect time (tests/workers/test_egress.py)."""

from __future__ import annotations

import pytest

from backend.core.config import Settings
from backend.core.egress import EgressPolicy


@pytest.fixture
def production(monkeypatch):
    def use(allow: str = "") -> None:
        settings = Settings(environment="production", secret_key="x" * 32, egress_allow=allow)
        monkeypatch.setattr(
            EgressPolicy, "current", classmethod(lambda cls: EgressPolicy.from_settings(settings))
        )

    use()
    return use


def _post(client, h, pid, base_url):
    body = {"name": "t", "backend": "openai_compat", "model": "m", "base_url": base_url}
    return client.post(f"/api/projects/{pid}/teachers", headers=h, json=body)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/v1",
        "http://127.0.0.1:5432/v1",
        "http://169.254.169.254/v1",
        "http://localhost:8000/v1",
    ],
)
def test_a_refused_base_url_is_a_422_naming_the_field(client, accounts, production, url):
    owner = accounts.user()
    pid = accounts.project(owner)
    r = _post(client, owner["headers"], pid, url)
    assert r.status_code == 422, r.text
    [field] = [f for f in r.json()["error"]["fields"] if f["path"] == "body.base_url"]
    assert "egress policy refused" in field["message"] and "DISTILLERY_EGRESS_ALLOW" in field["message"]


def test_an_update_to_a_refused_base_url_is_refused(client, accounts, production):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    created = _post(client, h, pid, "https://api.example.com/v1")
    assert created.status_code == 201, created.text
    url = f"/api/projects/{pid}/teachers/{created.json()['id']}"
    r = client.patch(url, headers=h, json={"base_url": "http://192.168.0.10:8000/v1"})
    assert r.status_code == 422 and "body.base_url" in r.text, r.text


def test_the_allow_setting_lets_an_administrator_allow_a_network(client, accounts, production):
    production("10.0.0.0/8")
    owner = accounts.user()
    pid = accounts.project(owner)
    assert _post(client, owner["headers"], pid, "http://10.0.0.5/v1").status_code == 201


@pytest.mark.parametrize("url", ["http://api.example.com/v1#", "http://u:p@api.example.com/v1"])
def test_a_fragment_or_credentials_are_refused_in_any_environment(client, accounts, url):
    owner = accounts.user()
    pid = accounts.project(owner)
    r = _post(client, owner["headers"], pid, url)
    assert r.status_code == 422 and "base_url" in r.text, r.text


def test_a_providers_error_text_reaches_only_maintainers(client, accounts):
    """What a provider said in an error body (stored after PROVIDER_SAYS: the probe's error here; the
    same holds for generations, stages and jobs) is replaced for viewers and reviewers."""
    from datetime import UTC, datetime

    from backend.api.provider_text import hide
    from backend.core.db import session_scope
    from backend.core.egress import PROVIDER_SAYS
    from backend.teachers.models import Teacher

    owner, maintainer, viewer, reviewer = (accounts.user() for _ in range(4))
    pid = accounts.project(owner, maintainer=maintainer, viewer=viewer, reviewer=reviewer)
    created = _post(client, owner["headers"], pid, "https://api.example.com/v1")
    tid = created.json()["id"]
    said = 'internal-db-password "quoted" \\ tail'
    error = f"http 400{PROVIDER_SAYS}{said}"
    with session_scope() as s:
        s.get(Teacher, tid).probe = {"measured_at": datetime.now(UTC).isoformat(), "error": error}
    url = f"/api/projects/{pid}/teachers/{tid}"
    for user in (owner, maintainer):
        assert client.get(url, headers=user["headers"]).json()["probe"]["error"] == error
    for user in (viewer, reviewer):
        r = client.get(url, headers=user["headers"])
        assert r.status_code == 200 and "internal-db-password" not in r.text
        assert r.json()["probe"]["error"].startswith(f"http 400{PROVIDER_SAYS}(shown to")
        listed = client.get(f"/api/projects/{pid}/teachers", headers=user["headers"])
        assert listed.status_code == 200 and "internal-db-password" not in listed.text
    assert hide(b'{"a": "x | provider said: \\"q\\" y", "b": 1}') == (
        b'{"a": "x | provider said: (shown to the project\'s maintainers)", "b": 1}'
    )
