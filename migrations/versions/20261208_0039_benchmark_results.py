"""benchmark_results: each model's lm-evaluation-harness scores per task in a benchmark stage

One row per (stage, label, task), beside the run's in-task `evaluations`: lm-eval's metrics as it
computed them (`metric,filter` keys), the documents scored, lm-eval's version and the config hash
(model files, task files, lm-eval's version, settings). A unique index rather than a constraint, as
evaluations have (0017): a stage that runs again replaces its rows.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-08 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "benchmark_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("stage_id", sa.Integer(), nullable=True),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("suite", sa.String(length=1000), nullable=False),
        sa.Column("metrics", json_type, nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("lm_eval_version", sa.String(length=32), nullable=False),
        sa.Column("config", json_type, nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["model_artifacts.id"],
            name=op.f("fk_benchmark_results_artifact_id_model_artifacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_benchmark_results_project_id_projects"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_benchmark_results_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["run_stages.id"],
            name=op.f("fk_benchmark_results_stage_id_run_stages"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmark_results")),
    )
    op.create_index(
        "ix_benchmark_results_stage_label_task",
        "benchmark_results",
        ["stage_id", "label", "task"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_benchmark_results_stage_label_task", table_name="benchmark_results")
    op.drop_table("benchmark_results")
