"""Human labels for calibration: read per generation (majority of people, a tie is a reject), and
imported from JSONL or CSV files of generation ids."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from functools import cache

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.db import dialect_insert
from backend.core.errors import Invalid
from backend.judge.calibration import Pair
from backend.judge.models import Rubric
from backend.reviews.models import HumanLabel
from backend.runs.models import Run
from backend.samples.models import Generation, Verdict

_TRUE = {"accept", "accepted", "true", "1", "yes", "pass"}
_FALSE = {"reject", "rejected", "false", "0", "no", "fail"}
MAX_ROWS = 1_000_000


def consensus(session: Session, *, project_id: int) -> dict[int, bool]:
    votes: dict[int, list[bool]] = defaultdict(list)
    for gid, accepted in session.execute(
        select(HumanLabel.generation_id, HumanLabel.accepted).where(HumanLabel.project_id == project_id)
    ):
        votes[gid].append(accepted)
    return {gid: sum(v) * 2 > len(v) for gid, v in votes.items()}


def pairs_for(session: Session, *, rubric: Rubric) -> list[Pair]:
    """(judge score, human label) for every labelled generation this rubric version judged."""
    labels = consensus(session, project_id=rubric.project_id)
    if not labels:
        return []
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
    return [Pair(score, labels[gid]) for gid, score in seen.items()]


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
