"""Human labels for calibration: read per generation (majority of people, a tie is a reject) with how
they reached people (a random audit, an import, or a reason the router picked them for), and imported
from JSONL or CSV files of generation ids."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.db import dialect_insert
from backend.core.errors import Invalid
from backend.judge.calibration import Pair
from backend.judge.models import Rubric
from backend.reviews.models import HumanLabel, ReviewTask
from backend.reviews.routing import RANDOM_REASONS
from backend.runs.models import Run
from backend.samples.models import Generation, Verdict

_TRUE = {"accept", "accepted", "true", "1", "yes", "pass"}
_FALSE = {"reject", "rejected", "false", "0", "no", "fail"}
MAX_ROWS = 1_000_000


def consensus(session: Session, *, project_id: int) -> dict[int, tuple[bool, str]]:
    """Per labelled generation: the people's majority, and how it came to them: the reason of its review
    task (backend/reviews/routing.py REASONS), or `import` for a label only imported."""
    votes: dict[int, list[bool]] = defaultdict(list)
    basis: dict[int, str] = {}
    rows = session.execute(
        select(HumanLabel.generation_id, HumanLabel.accepted, HumanLabel.source, ReviewTask.reason)
        .outerjoin(
            ReviewTask,
            (ReviewTask.generation_id == HumanLabel.generation_id) & (ReviewTask.slot == 0),
        )
        .where(HumanLabel.project_id == project_id)
    )
    for gid, accepted, source, reason in rows:
        votes[gid].append(accepted)
        if source == "review" or gid not in basis:
            basis[gid] = (reason or "review") if source == "review" else basis.get(gid, "import")
    return {gid: (sum(v) * 2 > len(v), basis[gid]) for gid, v in votes.items()}


@dataclass(frozen=True)
class LabelSet:
    """A judge version's labelled attempts, split by how they reached people. Only `pairs` (drawn at
    random: the review's audit, and imports, whose sample the importer chose) are fit to measure the
    judge; `picked` are what the router chose because the machines disagreed or doubted, which says
    little of the judge on the attempts nobody looked at."""

    pairs: list[Pair]
    picked: list[Pair]
    by_reason: dict[str, int]


PICKED_TEXT = {
    "disagreement": "disagreements",
    "judge_unsure": "an unsure judge",
    "judge_unparseable": "judge replies without a score",
    "reference_unparseable": "unparseable references",
    "judge_rejected": "judge rejects",
    "sampled_accept": "the accepted-only sample of older runs",
}


def _n(count: int, what: str) -> str:
    return f"{count} label{'' if count == 1 else 's'} {what}"


def basis_text(by_reason: dict[str, int]) -> str:
    """What the figures rest on, in words: the random labels counted and the picked ones left out."""
    audit, imported = by_reason.get("audit", 0), by_reason.get("import", 0)
    counted = [_n(audit, "from a random audit sample")] if audit or not imported else []
    if imported:
        counted.append(_n(imported, "imported"))
    text = "figures rest on " + " and ".join(counted)
    picked = sorted((n, why) for why, n in by_reason.items() if not is_random(why))
    if picked:
        parts = [_n(n, f"from {PICKED_TEXT.get(why, why)}") for n, why in sorted(picked, key=lambda p: p[1])]
        total = sum(n for n, _ in picked)
        verb, pronoun = ("is", "it was") if total == 1 else ("are", "they were")
        text += f"; {', '.join(parts)} {verb} not counted because {pronoun} picked"
    return text


def is_random(basis: str) -> bool:
    return basis in RANDOM_REASONS or basis == "import"


def pairs_for(session: Session, *, rubric: Rubric) -> LabelSet:
    """(judge score, human label) for every labelled generation this rubric version judged, random and
    picked apart."""
    labels = consensus(session, project_id=rubric.project_id)
    if not labels:
        return LabelSet([], [], {})
    rows = session.execute(
        select(Verdict.generation_id, Verdict.score)
        .join(Run, Run.id == Verdict.run_id)
        .where(
            Run.project_id == rubric.project_id,
            Verdict.verifier == "judge",
            Verdict.verifier_version == str(rubric.version),
            Verdict.status != "error",  # the endpoint failed: that says nothing about the judge
        )
        .order_by(Verdict.generation_id)
    ).all()
    seen: dict[int, float | None] = {}
    for gid, score in rows:
        if gid in labels:
            seen.setdefault(gid, score)
    out = LabelSet([], [], {})
    for gid, score in seen.items():
        human, basis = labels[gid]
        (out.pairs if is_random(basis) else out.picked).append(Pair(score, human))
        out.by_reason[basis] = out.by_reason.get(basis, 0) + 1
    return out


def _label(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Invalid(f"{where}: label {value!r} is neither accept nor reject", code="bad_label")


def parse_labels(data: bytes, filename: str) -> list[tuple[int, bool]]:
    """(generation_id, accepted) rows of a JSONL or CSV file (columns generation_id and label); an
    error names the file's line."""
    text = data.decode("utf-8-sig", errors="replace")
    records: list[tuple[int, object]] = []  # (line in the file, record)
    if filename.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        records = [(reader.line_num, rec) for rec in reader]
    else:
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append((i, orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise Invalid(f"line {i}: not JSON ({exc})", code="bad_label") from None
    if len(records) > MAX_ROWS:
        raise Invalid(f"at most {MAX_ROWS} labels per file", code="bad_label")
    out: list[tuple[int, bool]] = []
    for i, rec in records:
        if not isinstance(rec, dict) or rec.get("generation_id") in (None, "") or rec.get("label") is None:
            raise Invalid(f"line {i}: needs generation_id and label", code="bad_label")
        try:
            gid = int(rec["generation_id"])
        except (TypeError, ValueError):
            raise Invalid(
                f"line {i}: generation_id {rec['generation_id']!r} is not a number", code="bad_label"
            ) from None
        if not 1 <= gid < 2**63:
            raise Invalid(f"line {i}: generation_id {gid} is out of range", code="bad_label")
        out.append((gid, _label(rec["label"], f"line {i}")))
    return out


def import_labels(session: Session, *, project_id: int, user_id: int, rows: list[tuple[int, bool]]) -> int:
    """Store imported labels (one per generation and importer; a later import replaces it). Every id
    must be a generation of this project."""
    ids = sorted({gid for gid, _ in rows})
    known: set[int] = set()
    for i in range(0, len(ids), 5000):
        known |= set(
            session.scalars(
                select(Generation.id)
                .join(Run, Run.id == Generation.run_id)
                .where(Run.project_id == project_id, Generation.id.in_(ids[i : i + 5000]))
            )
        )
    missing = [g for g in ids if g not in known]
    if missing:
        raise Invalid(
            f"{len(missing)} generation ids are not in this project, e.g. {missing[:5]}",
            code="unknown_generation",
        )
    upsert_labels(
        session,
        [
            {
                "project_id": project_id,
                "generation_id": gid,
                "user_id": user_id,
                "accepted": ok,
                "source": "import",
            }
            for gid, ok in dict(rows).items()
        ],
    )
    return len(dict(rows))


@cache
def _upsert(dialect: str):
    stmt = dialect_insert(dialect)(HumanLabel)
    return stmt.on_conflict_do_update(
        index_elements=["generation_id", "user_id", "source"], set_={"accepted": stmt.excluded.accepted}
    )


def upsert_labels(session: Session, values: list[dict]) -> None:
    """Insert labels; a label of the same generation, person and source is replaced."""
    if not values:
        return
    conn = session.connection()
    conn.execute(_upsert(conn.dialect.name), values)
