"""A trained model's card is rendered from what is stored now (backend/training/card.py): it says a run
resumed only when it did, and lists the model's evaluations once there are some, both in
GET .../models/{id}/card and in the README.md written beside the weights."""

from __future__ import annotations

from tests.support.factories import make_run, make_stage


def _artifact(pid: int, folder, *, resumed: int | None) -> tuple[int, int]:
    from backend.core.db import session_scope
    from backend.datasets.models import ModelArtifact

    folder.mkdir()
    with session_scope() as s:
        run = make_run(s, project_id=pid, status="succeeded", recipe={}, name="nightly")
        lineage = {
            "teacher": {"id": 1, "name": "big", "model": "org/big"},
            "snapshot": {"id": 8, "content_hash": "abc123", "run_id": run.id},
            "checkpoint": str(folder.parent / "checkpoint-150"),  # the last checkpoint: lineage only
            "run": {"id": run.id, "name": "nightly"},
        }
        art = ModelArtifact(
            project_id=pid, run_id=run.id, base_model="tiny-student", method="sft", path=str(folder),
            metrics={"step": 150, "loss": 0.5, "resumed_from_step": resumed, "lineage": lineage,
                     "template": {"family": "qwen2", "source": "tiny-student", "reasoning": "think tags"},
                     "pad": {"token": "<|fim_pad|>", "source": "vocabulary"}, "recipe": {"max_steps": 150}},
        )  # fmt: skip
        s.add(art)
        s.flush()
        return run.id, art.id


def _evaluate(pid: int, run_id: int, artifact_id: int) -> None:
    from backend.core.db import session_scope
    from backend.datasets.models import ModelArtifact
    from backend.evals.models import Evaluation
    from backend.runs.models import Run
    from backend.training.card import write_model_card

    with session_scope() as s:
        stage = make_stage(s, s.get_one(Run, run_id), "evaluate")
        for label, art, p in (("student", artifact_id, 0.55), ("base", None, 0.2)):
            metrics = {"pass_at_1": p, "pass_at_1_ci": [p - 0.1, p + 0.1], "samples": 40}
            s.add(Evaluation(project_id=pid, run_id=run_id, stage_id=stage.id, artifact_id=art, label=label,
                             model=label, role=label, verifier="math", metrics=metrics))  # fmt: skip
        s.flush()
        write_model_card(s, s.get_one(ModelArtifact, artifact_id))  # what the evaluate stage does last


def test_the_card_says_resumed_only_when_it_was_and_lists_evaluations_once_there_are_some(
    client, accounts, tmp_path
):
    owner, viewer, stranger = accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    run_id, mid = _artifact(pid, tmp_path / "final", resumed=None)
    url = f"/api/projects/{pid}/models/{mid}/card"

    card = client.get(url, headers=viewer["headers"])
    assert card.status_code == 200, card.text
    assert card.text.startswith("---\nbase_model: tiny-student\n")
    assert "- resumed from: not resumed (one go)" in card.text and "checkpoint-150" not in card.text
    assert "- evaluation: none yet" in card.text
    assert "- chat template: qwen2 (tiny-student's own, saved with the model)" in card.text
    assert client.get(url, headers=stranger["headers"]).status_code in (403, 404)

    _evaluate(pid, run_id, mid)
    card = client.get(url, headers=viewer["headers"]).text
    assert "none yet" not in card
    assert "pass@1 55.0% (95% interval 45.0% to 65.0%)" in card and "beside it: base 20.0%" in card
    assert (tmp_path / "final" / "README.md").read_text() == card  # the file beside the weights too

    _, resumed = _artifact(pid, tmp_path / "again", resumed=100)
    card = client.get(f"/api/projects/{pid}/models/{resumed}/card", headers=viewer["headers"]).text
    assert "- resumed from: checkpoint-100" in card
