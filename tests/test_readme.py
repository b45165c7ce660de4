"""README.md opens with the two commands and documents every DISTILLERY_* setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.config import Settings

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_opens_with_make_demo_and_make_test():
    head = README.splitlines()[:8]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_every_setting_is_documented():
    missing = [
        f"DISTILLERY_{n.upper()}" for n in Settings.model_fields if f"`DISTILLERY_{n.upper()}`" not in README
    ]
    assert missing == []


def test_every_link_and_make_target_the_readme_names_exists():
    """The map and every file linked from the README live in the repository; every `make X` exists."""
    import re

    root = Path(__file__).resolve().parents[1]
    links = [t for t in re.findall(r"\]\(([^)#\s]+)\)", README) if "://" not in t]
    assert "docs/ARCHITECTURE.md" in links
    assert [t for t in links if not (root / t).exists()] == []
    makefile = (root / "Makefile").read_text()
    targets = set(re.findall(r"`make (\w+)", README))
    assert {t for t in targets if not re.search(rf"^{t}:", makefile, re.M)} == set()


def test_the_readme_says_what_the_api_does():
    from backend.main import create_app

    spec = create_app().openapi()
    create_run = spec["paths"]["/api/projects/{project_id}/runs"]["post"]["responses"]
    assert "202" in create_run and "RunDetail" in str(create_run["202"])
    assert "job_id" not in README  # jobs answer with their `id`
    assert "users create EMAIL [--password P]" in README
    assert "maintainer role" in README and "Re-queue is manual" not in README  # the janitor does it now
    from backend.core.config import Settings

    assert Settings().max_requeues == 3 and "`DISTILLERY_MAX_REQUEUES` | `3`" in README
    assert "A killed worker needs nobody" in README
