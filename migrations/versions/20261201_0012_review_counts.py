"""review_counts: slots each reviewer decided per run, summed into the review stage's live progress;
the claim index holds open slots only

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_counts",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_review_counts_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "reviewer_id", name=op.f("pk_review_counts")),
    )
    # runs that were reviewing before this table existed: their decisions so far
    op.execute(
        "INSERT INTO review_counts (run_id, reviewer_id, decided) "
        "SELECT run_id, reviewer_id, count(*) FROM review_tasks "
        "WHERE state = 'done' AND reviewer_id IS NOT NULL GROUP BY run_id, reviewer_id"
    )

    _claim_index("state = 'open'")


def _claim_index(where: str) -> None:
    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_review_tasks_claim")
        batch_op.create_index(
            "ix_review_tasks_claim",
            ["run_id", "priority", "id"],
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    _claim_index("state <> 'done' AND state <> 'closed'")
    op.drop_table("review_counts")
