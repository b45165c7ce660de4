"""verdicts carry their run, status and duration; generations carry the filter's decision

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No verdict was ever written before this revision, so the new NOT NULL columns need no backfill.
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("status", sa.String(length=32), nullable=False))
        batch_op.add_column(sa.Column("duration_ms", sa.Float(), nullable=False))
        batch_op.alter_column("passed", existing_type=sa.Boolean(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_verdicts_run_id_runs"), "runs", ["run_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_verdicts_run_keyset", ["run_id", "id"], unique=False)
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accepted", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_column("accepted")
    op.execute("DELETE FROM verdicts WHERE passed IS NULL")
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_verdicts_run_keyset")
        batch_op.drop_constraint(batch_op.f("fk_verdicts_run_id_runs"), type_="foreignkey")
        batch_op.alter_column("passed", existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_column("duration_ms")
        batch_op.drop_column("status")
        batch_op.drop_column("run_id")
