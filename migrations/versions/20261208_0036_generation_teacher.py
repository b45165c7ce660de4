"""generations.teacher_id: which teacher wrote each attempt (rollout.teachers routes prompts to teachers)

The run's teacher unless a route sent the prompt to another one; the snapshot's teacher column and the
cards' counts per teacher read it. No foreign key: the writer's unnest insert would look each row's
teacher up (the bulk path's cost), and the id stays a record of who taught, even once the teacher is
deleted. Null for attempts written before it (the run's teacher wrote them).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-08 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("generations", sa.Column("teacher_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("generations", "teacher_id")
