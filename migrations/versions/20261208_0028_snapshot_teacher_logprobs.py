"""dataset_snapshots.teacher_logprobs: what the snapshot's teacher logprob cache holds, or null

The cache itself is teacher_logprobs.parquet beside the snapshot's files (never rows here); this says
it is there: K, the teacher, its tokenizer and template hashes, the source (rollout or score), the rows.

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-08 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.add_column("dataset_snapshots", sa.Column("teacher_logprobs", json_type, nullable=True))


def downgrade() -> None:
    op.drop_column("dataset_snapshots", "teacher_logprobs")
