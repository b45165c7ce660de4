"""README.md opens with the two commands and documents every DISTILLERY_* setting."""

from __future__ import annotations

from pathlib import Path

from backend.core.config import Settings

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
