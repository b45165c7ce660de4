"""A trained model's card (the README.md saved beside its weights), rendered from what is stored now:
the artifact's lineage and facts, and every evaluation of it so far. The train stage writes it when the
model is saved; the evaluate stage writes it again once it has scored the model, and
GET .../models/{id}/card renders it on request, so it never says "none yet" after an evaluation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.datasets.card import teachers_lines
from backend.datasets.models import ModelArtifact
from backend.evals.models import Evaluation

log = logging.getLogger(__name__)


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.1f}%"


def _evaluation_lines(session: Session, artifact_id: int) -> list[str]:
    """One line per evaluation of the model, with the models it was compared to in the same stage."""
    own = session.scalars(
        select(Evaluation).where(Evaluation.artifact_id == artifact_id).order_by(Evaluation.created_at)
    ).all()
    lines = []
    for ev in own:
        m = ev.metrics or {}
        ci = m.get("pass_at_1_ci") or [None, None]
        line = (
            f"- evaluation {ev.id} (run {ev.run_id}, prompt set {ev.prompt_set_id}, verifier {ev.verifier}, "
            f"{m.get('samples', '-')} samples): pass@1 {_pct(m.get('pass_at_1'))} "
            f"(95% interval {_pct(ci[0])} to {_pct(ci[1])})"
        )
        if ev.stage_id is not None:
            others = session.scalars(
                select(Evaluation)
                # the models beside it; its training checkpoints (evaluate.checkpoints) are the run's curve
                .where(Evaluation.stage_id == ev.stage_id, Evaluation.id != ev.id, Evaluation.step.is_(None))
                .order_by(Evaluation.label)
            ).all()
            if others:
                beside = ", ".join(f"{o.label} {_pct((o.metrics or {}).get('pass_at_1'))}" for o in others)
                line += f"; beside it: {beside}"
        lines.append(line)
    return lines or ["- evaluation: none yet"]


def _distill_teachers(teachers: list[dict[str, Any]] | None) -> list[str]:
    """On-policy distillation routed by prompt (train.teachers): each teacher's prompts and samples."""
    if not teachers:
        return []
    out = ["- on-policy teachers (train.teachers; prompts routed, student samples scored):"]
    for t in teachers:
        out.append(f"  - {t['name']} (id {t['teacher_id']}, `{t['model']}`): {t['prompts']} prompts, "
                   f"{t['scored']} samples scored")  # fmt: skip
    return out


def render(artifact: ModelArtifact, evaluations: list[str]) -> str:
    facts = artifact.metrics or {}
    lineage = facts.get("lineage") or {}
    base, method = artifact.base_model, artifact.method
    header = {"base_model": base, "library_name": "transformers", "tags": ["distillery", "trl", method]}
    teacher = lineage.get("teacher") or {}
    snap = lineage.get("snapshot") or {}
    run = lineage.get("run") or {}
    tmpl, pad = facts.get("template") or {}, facts.get("pad") or {}
    resumed = facts.get("resumed_from_step")
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False).strip(),
        "---",
        "",
        f"# {run.get('name', artifact.run_id)}: {method} of {base}",
        "",
        f"- base model: `{base}`",
        f"- teacher: {teacher.get('name', 'none')} (`{teacher.get('model', '-')}`)",
        f"- snapshot: {snap.get('id', '-')} (sha256 `{snap.get('content_hash', '-')}`)",
        *teachers_lines(lineage.get("taught_by")),
        *_distill_teachers(facts.get("teachers")),
        # the last checkpoint is lineage; "resumed" only when a re-queued run went on from one
        f"- resumed from: checkpoint-{resumed}" if resumed else "- resumed from: not resumed (one go)",
        f"- steps: {facts.get('step')}, final loss: {facts.get('loss')}",
        f"- chat template: {tmpl.get('family', '-')} ({tmpl.get('source', '-')}'s own, saved with the model);"
        f" reasoning: {tmpl.get('reasoning', '-')}",
        f"- pad token: {pad.get('token', '-')} ({pad.get('source', '-')})",
        *evaluations,
        "",
        "## Recipe",
        "",
        "```yaml",
        yaml.safe_dump(facts.get("recipe") or {}, sort_keys=False).strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def model_card(session: Session, artifact: ModelArtifact) -> str:
    """The card as the data stands now."""
    return render(artifact, _evaluation_lines(session, artifact.id))


def write_model_card(session: Session, artifact: ModelArtifact) -> None:
    """README.md beside the weights, as the data stands now. A folder that is gone (the model moved or
    deleted) is logged, not an error: the card is also served by the API."""
    folder = Path(artifact.path)
    if not folder.is_dir():
        log.warning("model %s: no folder %s for its card", artifact.id, folder)
        return
    (folder / "README.md").write_text(model_card(session, artifact))
