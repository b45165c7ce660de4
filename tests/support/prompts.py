"""Prompt files and prompt sets: written, imported through the API, or seeded through the service."""

from __future__ import annotations

import json
from pathlib import Path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def import_prompts(client, headers, project_id: int, path: Path, name: str = "prompts", **form):
    """POST the file to the import route; returns the raw response (202 with a job, or an error)."""
    with path.open("rb") as fh:
        return client.post(
            f"/api/projects/{project_id}/prompt-sets",
            headers=headers,
            data={"name": name, **{k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}},
            files={"file": (path.name, fh, "application/octet-stream")},
        )


def seed_prompt_set(project_id: int, path: Path, name: str = "prompts") -> int:
    """Import in-process through the service (no worker needed); returns the prompt set id."""
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.prompts.service import import_prompt_set

    with session_scope() as s:
        pset, _ = import_prompt_set(
            s, project=s.get(Project, project_id), user=None, name=name, path=path, filename=path.name
        )
        return pset.id


def prompt_sets(client, h, pid) -> list:
    return client.get(f"/api/projects/{pid}/prompt-sets", headers=h).json()


PROJECT_PROMPTS = 10  # in the api tests' `project` fixture's prompt set: q0..q9
# Arithmetic with references, and one whose reference does not parse; a fake teacher started with
# --answers MIXED_ANSWERS answers choice i of every request MIXED_ANSWERS[i % 2] (conftest's teacher_url)
MIXED_ANSWERS = "42,7"
MIXED_PROMPTS = [
    *({"prompt": f"What is six times seven? ({i})", "reference": "42"} for i in range(6)),
    *({"prompt": f"What is three plus four? ({i})", "reference": "7"} for i in range(3)),
    {"prompt": "Which dessert is best?", "reference": "banana split with \\frac"},  # does not parse
]
