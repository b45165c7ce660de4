"""generations.reasoning_tokens: each attempt's reasoning length in tokens (rollout.reasoning_budget)

The server's count where it gives one (vLLM's completion_tokens_details.reasoning_tokens), else the
completion's tokens split by the reasoning's share of the text; the shortest_verified selection and the
budget's truncation read it. Null for attempts written before it.

Revision ID: 0035
Revises: 0028
Create Date: 2026-12-08 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("generations", sa.Column("reasoning_tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("generations", "reasoning_tokens")
