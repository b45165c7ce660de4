"""The guides under docs/ stay one page per stage kind, each naming the code it describes, and the API and
CLI pages name every resource and command the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.runs.stages import STAGES
from tests.support.spec import api_spec

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MAP = DOCS / "ARCHITECTURE.md"  # the map of the whole tree: every change may touch it, so no one owner


def _owner(page: Path) -> str:
    head = page.read_text().splitlines()[:5]
    lines = [n for n, line in enumerate(head) if line.startswith("Owner: ")]
    assert lines, f"{page.relative_to(ROOT)}: no 'Owner: <the code it describes>' line at the top"
    # the owner note may wrap onto the next line
    return " ".join(head[lines[0] : lines[0] + 2])


def test_every_stage_kind_has_its_page_and_every_page_a_kind():
    pages = {p.stem for p in (DOCS / "stages").glob("*.md")}
    assert pages == set(STAGES)


def test_each_stage_page_is_owned_by_its_worker_module():
    for kind, stage in STAGES.items():
        path = stage.module.replace(".", "/")
        module = f"{path}/" if (ROOT / path).is_dir() else f"{path}.py"
        assert module in _owner(DOCS / "stages" / f"{kind}.md"), (kind, module)


def test_every_guide_names_an_owner_that_exists():
    for page in sorted(DOCS.rglob("*.md")):
        if page == MAP:
            continue
        owners = re.findall(r"(?:backend|workers|frontend|docker|tests)/[\w./-]*", _owner(page))
        assert owners, page
        assert [o for o in owners if not (ROOT / o.rstrip(".,")).exists()] == [], page


def test_the_api_page_names_every_resource():
    """Every first path segment under /api and under a project, e.g. `/stage-kinds`, is on the page."""
    page = (DOCS / "api.md").read_text()
    segments = set()
    for path in api_spec()["paths"]:
        parts = path.split("/")[2:]  # '', 'api', ...
        segments.add(parts[0])
        if parts[:2] == ["projects", "{project_id}"] and len(parts) > 2:
            segments.add(parts[2])
    assert sorted(s for s in segments if f"/{s}" not in page) == []


def test_the_cli_page_names_every_command():
    import typer.main

    from backend.cli import app

    def walk(command, prefix):
        subs = getattr(command, "commands", None)
        if not subs:
            yield " ".join(prefix)
            return
        for name, sub in subs.items():
            yield from walk(sub, [*prefix, name])

    page = (DOCS / "cli.md").read_text()
    commands = list(walk(typer.main.get_command(app), ["distillery"]))
    assert len(commands) > 10
    assert [c for c in commands if c not in page] == []


def test_every_make_target_a_guide_names_exists():
    makefile = (ROOT / "Makefile").read_text()
    named = {t for page in DOCS.rglob("*.md") for t in re.findall(r"`make ([\w-]+)", page.read_text())}
    assert named, "the scan found nothing: its pattern is wrong"
    assert sorted(t for t in named if not re.search(rf"^{re.escape(t)}:", makefile, re.M)) == []
