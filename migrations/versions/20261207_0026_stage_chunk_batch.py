"""stage_chunks.batch: a rollout chunk's provider batch (nonce, input file, batch id), kept across its tasks

A rollout in batch mode submits each chunk's requests as one provider batch; the ids must outlive the
task that made them, so a re-queued or redelivered chunk resumes polling instead of paying twice.

Revision ID: 0026
Revises: 0019
Create Date: 2026-12-07 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0026"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.add_column("stage_chunks", sa.Column("batch", json_type, nullable=True))


def downgrade() -> None:
    op.drop_column("stage_chunks", "batch")
