"""docs/settings.md, written from the Settings class so the page cannot drift from the code.

    python -m backend.core.settings_doc > docs/settings.md

tests/test_settings_doc.py fails when the committed page differs from what this prints.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path

from pydantic.fields import FieldInfo

from backend.core.config import Settings

COMMAND = "python -m backend.core.settings_doc > docs/settings.md"

# Variables a few modules read with os.environ, outside Settings: they are needed before Settings
# exists (the demo's launcher) or only inside one subsystem's processes (the verifier pool, the sandbox).
# tests/test_settings_doc.py checks that every DISTILLERY_* name the code reads is on the page.
OUTSIDE_SETTINGS: list[tuple[str, str, str]] = [
    (
        "DISTILLERY_VERIFY_WORKERS",
        "one per core",
        "Processes of the verifier pool (workers/verifiers/pool.py).",
    ),
    ("DISTILLERY_BWRAP", "`bwrap` on PATH", "The bubblewrap binary the code verifier's sandbox runs."),
    (
        "DISTILLERY_SANDBOX_CGROUP",
        "`/sys/fs/cgroup/pids`, else `/sys/fs/cgroup`",
        "The cgroup under which each code sandbox gets a pids cgroup of its own (as root only).",
    ),
    (
        "DISTILLERY_DEMO_WORKERS",
        "`3`",
        "`make demo` and `distillery up` only: processes (one thread each) of the gpu queue's worker "
        "(training, evaluation, a local teacher's rollout).",
    ),
    (
        "DISTILLERY_DEMO_CPU_WORKERS",
        "`2`",
        "`make demo` and `distillery up` only: processes of the cpu queue's worker, a second worker, so "
        "judge, filter, imports and probes never wait behind a training.",
    ),
    (
        "DISTILLERY_DEMO_TEACHER",
        "`examples/multiply/teacher`",
        "`make demo` only: the teacher folder it rolls out (a transformers model of your own for the "
        "multiplication task).",
    ),
    ("DISTILLERY_DEMO_PASSWORD", "`distillery-demo`", "`make demo` only: the demo admin's password."),
]


def _type(annotation: object) -> str:
    """A reader's name for a field's type: `a \\| b` for unions and literals (escaped for the table)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join("unset" if a is type(None) else _type(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])} (JSON)"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    return f"`{value}`"


def render() -> str:
    rows = [
        f"| `DISTILLERY_{name.upper()}` | {_type(f.annotation)} | {_default(f)} | {f.description or ''} |"
        for name, f in Settings.model_fields.items()
    ]
    outside = [f"| `{name}` | {default} | {text} |" for name, default, text in OUTSIDE_SETTINGS]
    return "\n".join(
        [
            "# Settings",
            "",
            "Owner: backend/core/config.py, backend/core/settings_doc.py. Generated: edit the `Settings`",
            f"class and run `{COMMAND}`; never edit this page by hand.",
            "",
            "Every setting is an environment variable (or a line in `.env`) with the `DISTILLERY_` prefix.",
            "Where each is set in production: [deployment.md](deployment.md).",
            "",
            "| variable | type | default | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
            "## Read outside Settings",
            "",
            "| variable | default | meaning |",
            "|---|---|---|",
            *outside,
            "",
        ]
    )


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
