"""README.md opens with the two commands and links what it names; the API guide says what the API does.
Every DISTILLERY_* setting is on docs/settings.md, generated from the code (tests/test_settings_doc.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.spec import api_spec

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


def test_readme_opens_with_make_demo_and_make_test():
    head = README.splitlines()[:8]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_readme_keeps_the_demos_table():
    assert "| model (parameters)" in README and "student on verified traces" in README


def test_every_link_and_make_target_the_readme_names_exists():
    """The map and every file linked from the README live in the repository; every `make X` exists."""
    links = [t for t in re.findall(r"\]\(([^)#\s]+)\)", README) if "://" not in t]
    assert "docs/ARCHITECTURE.md" in links
    assert [t for t in links if not (ROOT / t).exists()] == []
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"`make ([\w-]+)", README))
    assert {t for t in targets if not re.search(rf"^{re.escape(t)}:", makefile, re.M)} == set()


def test_the_readme_links_every_guide():
    """A page under docs/ that the README does not reach is a page a newcomer never finds."""
    pages = {p.relative_to(ROOT).as_posix() for p in DOCS.rglob("*.md")}
    assert sorted(p for p in pages if f"]({p})" not in README) == []


def test_the_docs_say_what_the_api_does():
    from backend.core.config import Settings

    api, cli, runs = ((DOCS / f"{n}.md").read_text() for n in ("api", "cli", "runs"))
    spec = api_spec()
    create_run = spec["paths"]["/api/projects/{project_id}/runs"]["post"]["responses"]
    assert "202" in create_run and "RunDetail" in str(create_run["202"])
    assert "`POST .../runs`) likewise answers 202 with the run" in api
    job = spec["paths"]["/api/projects/{project_id}/jobs/{job_id}"]["get"]["responses"]["200"]
    job_schema = job["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "id" in spec["components"]["schemas"][job_schema]["properties"]
    assert "whose `id` you poll at `GET .../jobs/{id}`" in api
    assert all("job_id" not in p.read_text() for p in [ROOT / "README.md", *DOCS.rglob("*.md")])
    assert "users create EMAIL [--password P]" in cli
    assert "maintainer role" in api
    assert Settings.model_fields["max_requeues"].default == 3
    assert "A killed worker needs nobody" in runs and "Re-queue is manual" not in runs  # the janitor does it
