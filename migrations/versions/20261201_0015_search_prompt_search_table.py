"""prompt text search moves off the import's path: prompts loses its pg_trgm index (0013), a separate
prompt_search table (filled by a job after an import commits) gets it; prompt_sets.search_indexed_at

Sets imported before this migration have no prompt_search rows and search_indexed_at NULL: the sample
browser searches them by scanning prompts (correct, slower) until a prompt_search_index job fills them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.drop_index("ix_prompts_text_trgm", table_name="prompts", if_exists=True)
    with op.batch_alter_table("prompt_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_indexed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "prompt_search",
        sa.Column(
            "prompt_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("prompts.id", name="fk_prompt_search_prompt_id_prompts", ondelete="CASCADE"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("prompt_set_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("prompt_id", name="pk_prompt_search"),
    )
    if _postgres():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_prompt_search_text_trgm",
            "prompt_search",
            ["text"],
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
        )


def downgrade() -> None:
    op.drop_table("prompt_search")  # its index goes with it
    # Not batch mode: on SQLite that rebuilds prompt_sets, which the triggers of 0005 name; SQLite 3.35+
    # drops a column in place.
    op.drop_column("prompt_sets", "search_indexed_at")
    if _postgres():
        op.create_index(
            "ix_prompts_text_trgm",
            "prompts",
            ["text"],
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
        )
