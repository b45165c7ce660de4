"""evaluations: one row per (stage, label), a unique index; the rows that re-runs of a stage added
before are removed first, keeping each model's latest, with their answers

An index rather than a constraint: on SQLite a constraint means copying the table, and dropping the
old one would take every eval_samples row with it (ON DELETE CASCADE).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STALE = (
    "SELECT id FROM evaluations WHERE stage_id IS NOT NULL AND id NOT IN "
    "(SELECT MAX(id) FROM evaluations WHERE stage_id IS NOT NULL GROUP BY stage_id, label)"
)


def upgrade() -> None:
    op.execute(f"DELETE FROM eval_samples WHERE evaluation_id IN ({_STALE})")
    op.execute(f"DELETE FROM evaluations WHERE id IN ({_STALE})")
    op.create_index("ix_evaluations_stage_label", "evaluations", ["stage_id", "label"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_evaluations_stage_label", table_name="evaluations")
