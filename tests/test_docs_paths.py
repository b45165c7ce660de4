"""Every file or folder README.md and docs/ name exists: a map that names a moved or deleted path (the
README once listed a workers/tasks/ folder long gone) sends a newcomer looking for nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = Path(__file__).resolve().parents[1]
TOPS = "backend|workers|frontend|tests|bench|scripts|migrations|docs|examples|docker"
PATH = re.compile(rf"(?<![\w./-])((?:{TOPS})/[\w./-]*[\w/])")
MADE_BY_TESTS = {"tests/e2e/artifacts/"}  # screenshots the e2e run writes


def _exists(path: str) -> bool:
    if (ROOT / path).exists():
        return True
    # module.attribute (workers/verifiers/verify.verify_many): the module's file
    head, _, attr = path.rpartition(".")
    return bool(head) and attr.isidentifier() and (ROOT / f"{head}.py").is_file()


def test_every_path_the_docs_name_exists():
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            for m in PATH.finditer(line):
                path = m.group(1).rstrip(".")
                if "*" in path or path in MADE_BY_TESTS or _exists(path):
                    continue
                missing.append(f"{doc.relative_to(ROOT)}:{n}: {path}")
    assert missing == []
