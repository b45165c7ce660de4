"""What the api tests share: a project of a fresh owner (`proj`), and a project with a small prompt set
(`project`) for the estimate and probe tests."""

from __future__ import annotations

import pytest

from tests.support.prompts import PROJECT_PROMPTS, seed_prompt_set, write_jsonl


@pytest.fixture
def proj(accounts):
    """(headers, project id) of a fresh owner's new project."""
    owner = accounts.user()
    return owner["headers"], accounts.project(owner)


@pytest.fixture
def project(client, accounts, tmp_path):
    """(owner's headers, project id, prompt set id) with PROJECT_PROMPTS prompts q0..q9."""
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(
        pid, write_jsonl(tmp_path / "e.jsonl", [{"prompt": f"q{i}"} for i in range(PROJECT_PROMPTS)])
    )
    return owner["headers"], pid, pset
