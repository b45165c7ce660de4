"""rubrics, the judge reply cache, the review queue (tasks with leases), human labels; reviews become the
audit log (run, task, undone)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:14:26.660911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "judge_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_judge_cache")),
    )
    op.create_table(
        "rubrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("scale", sa.String(length=16), nullable=False),
        sa.Column("scale_min", sa.Float(), nullable=False),
        sa.Column("scale_max", sa.Float(), nullable=False),
        sa.Column("pass_score", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_rubrics_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_rubrics_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubrics")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_rubrics_project_id_version")),
    )
    op.create_table(
        "human_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("generation_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_human_labels_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_human_labels_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_human_labels_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_labels")),
        sa.UniqueConstraint(
            "generation_id", "user_id", "source", name=op.f("uq_human_labels_generation_id_user_id_source")
        ),
    )
    with op.batch_alter_table("human_labels", schema=None) as batch_op:
        batch_op.create_index("ix_human_labels_project", ["project_id", "generation_id"], unique=False)

    op.create_table(
        "review_tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("generation_id", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_review_tasks_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_review_tasks_reviewer_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_review_tasks_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_tasks")),
        sa.UniqueConstraint(
            "run_id", "generation_id", "slot", name=op.f("uq_review_tasks_run_id_generation_id_slot")
        ),
    )
    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_tasks_claim",
            ["run_id", "priority", "id"],
            unique=False,
            postgresql_where=sa.text("state <> 'done' AND state <> 'closed'"),
            sqlite_where=sa.text("state <> 'done' AND state <> 'closed'"),
        )
        batch_op.create_index("ix_review_tasks_generation", ["generation_id", "reviewer_id"], unique=False)
        batch_op.create_index(
            "ix_review_tasks_leased",
            ["run_id", "reviewer_id"],
            unique=False,
            postgresql_where=sa.text("state = 'leased'"),
            sqlite_where=sa.text("state = 'leased'"),
        )

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("task_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("undone", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index("ix_reviews_run_reviewer", ["run_id", "reviewer_id", "id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_task_id_review_tasks"),
            "review_tasks",
            ["task_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_run_id_runs"), "runs", ["run_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reviews_run_id_runs"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_reviews_task_id_review_tasks"), type_="foreignkey")
        batch_op.drop_index("ix_reviews_run_reviewer")
        batch_op.drop_column("undone")
        batch_op.drop_column("task_id")
        batch_op.drop_column("run_id")

    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_review_tasks_leased")
        batch_op.drop_index("ix_review_tasks_generation")
        batch_op.drop_index(
            "ix_review_tasks_claim",
            postgresql_where=sa.text("state <> 'done' AND state <> 'closed'"),
            sqlite_where=sa.text("state <> 'done' AND state <> 'closed'"),
        )

    op.drop_table("review_tasks")
    with op.batch_alter_table("human_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_human_labels_project")

    op.drop_table("human_labels")
    op.drop_table("rubrics")
    op.drop_table("judge_cache")
