"""evaluations: per stage, label, config and its hash; eval_samples: each answer with its verdict

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("label", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("config", JSON, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("config_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.create_foreign_key(
            batch_op.f("fk_evaluations_stage_id_run_stages"),
            "run_stages",
            ["stage_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.alter_column("label", server_default=None)
        batch_op.alter_column("config", server_default=None)
        batch_op.alter_column("config_hash", server_default=None)
    op.create_table(
        "eval_samples",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.BigInteger(), nullable=False),
        sa.Column("sample", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("finish_reason", sa.String(length=32), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"],
                                name=op.f("fk_eval_samples_evaluation_id_evaluations"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_samples")),
        sa.UniqueConstraint("evaluation_id", "prompt_id", "sample",
                            name=op.f("uq_eval_samples_evaluation_id_prompt_id_sample")),
    )  # fmt: skip
    with op.batch_alter_table("eval_samples", schema=None) as batch_op:
        batch_op.create_index("ix_eval_samples_keyset", ["evaluation_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("eval_samples")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_evaluations_stage_id_run_stages"), type_="foreignkey")
        batch_op.drop_column("config_hash")
        batch_op.drop_column("config")
        batch_op.drop_column("label")
        batch_op.drop_column("stage_id")
