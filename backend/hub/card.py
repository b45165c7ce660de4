"""The model card pushed with a student: the train stage's card (backend/training/card.py: base,
method, template, pad, evaluations, recipe) with the lineage a reader of the Hub needs and cannot ask
this platform for: the prompt set, the teacher and its licence terms, the filter and the selection that
cut the snapshot, the snapshot's hash, and the evaluations as a table."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.datasets.models import DatasetSnapshot, ModelArtifact
from backend.evals.models import Evaluation
from backend.hub.models import HubPush
from backend.prompts.models import PromptSet
from backend.runs.models import Run
from backend.teachers.models import Teacher
from backend.training.card import model_card


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.1f}%"


def _json(x: Any) -> str:
    return f"`{orjson.dumps(x, option=orjson.OPT_SORT_KEYS).decode()}`"


def evaluation_table(session: Session, artifact_id: int) -> list[str]:
    evals = session.scalars(
        select(Evaluation).where(Evaluation.artifact_id == artifact_id).order_by(Evaluation.created_at)
    ).all()
    if not evals:
        return ["No evaluation of this model yet."]
    rows = [
        "| evaluation | prompt set | verifier | samples | pass@1 | 95% interval |",
        "|---|---|---|---|---|---|",
    ]
    for ev in evals:
        m = ev.metrics or {}
        lo, hi = (m.get("pass_at_1_ci") or [None, None])[:2]
        rows.append(
            f"| {ev.id} ({ev.label or ev.role}, run {ev.run_id}) | {ev.prompt_set_id} | {ev.verifier} | "
            f"{m.get('samples', '-')} | {_pct(m.get('pass_at_1'))} | {_pct(lo)} to {_pct(hi)} |"
        )
    return rows


def pushed_snapshot(session: Session, snapshot_id: int | None) -> HubPush | None:
    """The snapshot's latest successful push, if any: the model card links the dataset repository."""
    if snapshot_id is None:
        return None
    return session.scalar(
        select(HubPush)
        .where(HubPush.kind == "snapshot", HubPush.object_id == snapshot_id, HubPush.url.is_not(None))
        .order_by(HubPush.pushed_at.desc())
        .limit(1)
    )


def lineage_lines(session: Session, artifact: ModelArtifact) -> list[str]:
    snap = session.get(DatasetSnapshot, artifact.snapshot_id) if artifact.snapshot_id else None
    source = session.get(Run, snap.run_id) if snap is not None and snap.run_id else None
    train_run = session.get(Run, artifact.run_id) if artifact.run_id else None
    run = source or train_run
    lines = ["## Lineage", ""]
    pset = session.get(PromptSet, run.prompt_set_id) if run is not None and run.prompt_set_id else None
    lines.append(
        f"- prompt set: {pset.name} v{pset.version} (id {pset.id})"
        if pset
        else "- prompt set: (unknown or deleted)"
    )
    teacher = session.get(Teacher, run.teacher_id) if run is not None and run.teacher_id else None
    if teacher is not None:
        lines.append(
            f"- teacher: {teacher.name} (`{teacher.model}`, {teacher.backend}), "
            f"licence terms: {teacher.licence}"
        )
    else:
        lines.append("- teacher: none recorded")
    for r in {x.id: x for x in (source, train_run) if x is not None}.values():
        for w in r.warnings or []:
            lines.append(f"- **licence warning** (run {r.id}): {w}; check the provider's terms before use")
    if source is not None:
        lines.append(f"- filter: {_json((source.recipe or {}).get('filter', {}).get('verifiers'))}")
        lines.append(f"- selection: {_json((source.recipe or {}).get('snapshot', {}))}")
        lines.append(f"- source run: {source.id} ({source.name})")
    if snap is not None:
        rows = (snap.row_counts or {}).get("after_max_per_prompt")
        lines.append(f"- snapshot: {snap.id} {snap.name!r}, sha256 `{snap.content_hash}`, {rows} rows")
        pushed = session.scalar(
            select(HubPush)
            .where(HubPush.kind == "snapshot", HubPush.object_id == snap.id, HubPush.url.is_not(None))
            .order_by(HubPush.pushed_at.desc())
        )
        if pushed is not None:
            lines.append(f"- snapshot on the Hub: [{pushed.repo_id}]({pushed.url})")
    else:
        lines.append("- snapshot: (unknown or deleted)")
    lines.append(f"- training: {artifact.method} of `{artifact.base_model}` (recipe below)")
    return [*lines, "", "## Evaluation", "", *evaluation_table(session, artifact.id), ""]


def hub_model_card(session: Session, artifact: ModelArtifact) -> str:
    """README.md for the model repository: the train card with a Lineage and an Evaluation section
    after its facts, and `datasets:` in the header where the snapshot was pushed."""
    card = model_card(session, artifact)
    _, head, body = card.split("---\n", 2)
    meta = yaml.safe_load(head) or {}
    meta.setdefault("license", "other")  # the base's and the teacher's terms both apply: said below
    pushed = pushed_snapshot(session, artifact.snapshot_id)
    if pushed is not None:
        meta["datasets"] = [pushed.repo_id]
    recipe_at = body.find("\n## Recipe\n")
    facts, recipe = (body, "") if recipe_at < 0 else (body[:recipe_at], body[recipe_at:])
    extra = "\n".join(lineage_lines(session, artifact))
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{facts.rstrip()}\n\n{extra}{recipe}"
