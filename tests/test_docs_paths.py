"""Every file or folder README.md and the pages under docs/ (subfolders included) name or link exists: a
map that names a moved or deleted path (the README once listed a workers/tasks/ folder long gone) sends a
newcomer looking for nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = Path(__file__).resolve().parents[1]
TOPS = "backend|workers|frontend|tests|bench|scripts|migrations|docs|examples|docker"
PATH = re.compile(rf"(?<![\w./-])((?:{TOPS})/[\w./-]*[\w/])")
# written by a run, not committed: the e2e run's screenshots, the dashboard `make frontend` builds
MADE_BY_RUNS = {"tests/e2e/artifacts/", "frontend/dist"}


def _exists(path: str) -> bool:
    if (ROOT / path).exists():
        return True
    # module.attribute (workers/verifiers/verify.verify_many): the module's file
    head, _, attr = path.rpartition(".")
    return bool(head) and attr.isidentifier() and (ROOT / f"{head}.py").is_file()


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_path_the_docs_name_exists():
    missing = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            for m in PATH.finditer(line):
                path = m.group(1).rstrip(".")
                if "*" in path or path in MADE_BY_RUNS or _exists(path):
                    continue
                missing.append(f"{doc.relative_to(ROOT)}:{n}: {path}")
    assert missing == []


def test_every_relative_link_resolves():
    """Links are relative to their page (docs/stages/train.md's `../verifiers.md`)."""
    assert len(DOCS) > 10
    broken = [
        f"{doc.relative_to(ROOT)}: {target}"
        for doc in DOCS
        for target in LINK.findall(doc.read_text())
        if "://" not in target and not (doc.parent / target).exists()
    ]
    assert broken == []
