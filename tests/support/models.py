"""The project's tiny chat model (examples/tiny_model.py), built once per session under DATA_DIR: the
student the train tests fine-tune and the teacher the backend tests serve."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.env import DATA_DIR, ROOT


def tiny_model() -> Path:
    """The folder of the tiny model (the build is idempotent: every caller shares one copy)."""
    if str(ROOT / "examples") not in sys.path:
        sys.path.insert(0, str(ROOT / "examples"))
    from tiny_model import build

    return build(DATA_DIR / "models" / "tiny-chat")


def tiny_student() -> str:
    return str(tiny_model())
