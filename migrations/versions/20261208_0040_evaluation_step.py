"""evaluations.step: the training step of an evaluated checkpoint (evaluate.checkpoints)

One evaluation per checkpoint of the run's train stage, scored like the final model; null for a model
(base, student, teacher, other), which is what every earlier row is.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-08 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("evaluations", sa.Column("step", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("evaluations", "step")
