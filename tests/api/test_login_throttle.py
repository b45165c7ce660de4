"""Failed logins are throttled per account and per client address (429 with Retry-After, before any
password is checked), and an unknown email costs the same password check as a known one."""

from __future__ import annotations

import pytest

from backend.core import security
from backend.core.config import get_settings
from tests.support.env import unique

pytestmark = pytest.mark.usefixtures("fresh_login_throttle")


def _login(client, email: str, password: str):
    return client.post("/api/auth/login", json={"email": email, "password": password})


@pytest.mark.parametrize("known", [True, False])
def test_an_account_is_slowed_after_its_free_failures(client, accounts, monkeypatch, known):
    monkeypatch.setattr(get_settings(), "login_free_failures", 3)
    user = accounts.user(password="right-password") if known else {"email": f"{unique('ghost')}@example.com"}
    assert [_login(client, user["email"], "wrong").status_code for _ in range(3)] == [401] * 3
    r = _login(client, user["email"], "right-password")
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "too_many_logins"
    assert int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["details"]["retry_after_s"] >= 1
    # another account from the same address is not held up by this one
    other = accounts.user(password="other-password")
    assert _login(client, other["email"], "other-password").status_code == 200


def test_an_address_is_slowed_whatever_account_it_tries(client, accounts, monkeypatch):
    monkeypatch.setattr(get_settings(), "login_free_failures_per_address", 4)
    codes = [_login(client, f"{unique('spray')}@example.com", "guess").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]
    user = accounts.user(password="right-password")
    assert _login(client, user["email"], "right-password").status_code == 429


def test_a_success_clears_the_accounts_count(client, accounts, monkeypatch):
    monkeypatch.setattr(get_settings(), "login_free_failures", 2)
    user = accounts.user(password="right-password")
    assert _login(client, user["email"], "wrong").status_code == 401
    assert _login(client, user["email"], "right-password").status_code == 200
    assert _login(client, user["email"], "wrong").status_code == 401
    assert _login(client, user["email"], "right-password").status_code == 200


def test_unknown_and_known_emails_cost_one_password_check_each(client, accounts, monkeypatch):
    checks: list[str] = []
    real = security._hasher

    class Counted:
        def verify(self, hash_, password):
            checks.append(hash_)
            return real.verify(hash_, password)

        def hash(self, password):
            return real.hash(password)

    monkeypatch.setattr(security, "_hasher", Counted())
    user = accounts.user()
    assert _login(client, user["email"], "wrong").status_code == 401
    assert _login(client, f"{unique('nobody')}@example.com", "wrong").status_code == 401
    assert len(checks) == 2 and all(h.startswith("$argon2") for h in checks)
