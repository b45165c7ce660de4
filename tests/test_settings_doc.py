"""docs/settings.md is generated from the Settings class and must match it: a setting added, renamed,
re-described or given a new default without regenerating the page fails here with the command to run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.core.config import Settings
from backend.core.settings_doc import COMMAND, render

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "settings.md"


def test_the_settings_page_is_up_to_date():
    assert PAGE.read_text() == render(), f"docs/settings.md is out of date: run `{COMMAND}`"


def test_every_setting_has_a_description():
    assert [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()] == []


def test_each_row_names_the_variable_and_its_real_default():
    cells = [re.split(r"(?<!\\)\|", line) for line in render().splitlines() if line.startswith("| `")]
    rows = {c[1].strip(): c for c in cells}  # split on unescaped pipes: `a \| b` types hold escaped ones
    defaults = Settings.model_construct()  # the class's own defaults, not this machine's environment
    for name in Settings.model_fields:
        row = rows[f"`DISTILLERY_{name.upper()}`"]
        value = getattr(defaults, name)
        cell = row[3].strip()
        expected = "unset" if value is None else "empty" if value == "" else f"`{value}`"
        assert cell == expected, (name, cell)
    assert rows["`DISTILLERY_MAX_REQUEUES`"][3].strip() == "`3`"


def test_every_variable_the_code_reads_is_on_the_page():
    """os.environ reads outside Settings (the demo, the verifier pool, the sandbox) are listed too."""
    page = PAGE.read_text()
    named = set()
    for top in ("backend", "workers"):
        for path in (ROOT / top).rglob("*.py"):
            named |= set(re.findall(r"\bDISTILLERY_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert named, "the scan found nothing: its pattern is wrong"
    assert sorted(n for n in named if f"`{n}`" not in page) == []
