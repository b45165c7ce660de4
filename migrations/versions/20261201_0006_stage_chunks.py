"""stage_chunks: one chunk table for every fan-out stage (rollout today; filter, judge, evaluation next)

rollout_chunks held a rollout's counters as columns. The generic table keeps the columns every chunk
has (range of positions, status, task, heartbeat, error) and the stage's own counters as one JSON
object, so a new fan-out stage needs no table of its own. Existing chunks are copied over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum(
    "pending",
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelling",
    "cancelled",
    name="status",
    native_enum=False,
    length=16,
)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
COUNTERS = ("done", "failed", "truncated", "cached", "prompt_tokens", "completion_tokens", "cost_usd",
            "gpu_seconds")  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "stage_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counters", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["run_stages.id"],
            name=op.f("fk_stage_chunks_stage_id_run_stages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_chunks")),
        sa.UniqueConstraint("stage_id", "index", name=op.f("uq_stage_chunks_stage_id_index")),
    )
    pg = op.get_bind().dialect.name == "postgresql"
    build = "jsonb_build_object" if pg else "json_object"
    pairs = ", ".join(f"'{c}', {c}" for c in COUNTERS) + ", 'failures', failures"
    op.execute(
        'INSERT INTO stage_chunks (id, stage_id, "index", first_position, last_position, items, status, '
        "task_id, heartbeat_at, counters, error) "
        'SELECT id, stage_id, "index", first_position, last_position, prompts, status, task_id, '
        f"heartbeat_at, {build}({pairs}), error FROM rollout_chunks"
    )
    if pg:
        op.execute("SELECT setval(pg_get_serial_sequence('stage_chunks', 'id'), "
                   "COALESCE((SELECT max(id) FROM stage_chunks), 0) + 1, false)")  # fmt: skip
    op.drop_table("rollout_chunks")


def downgrade() -> None:
    op.create_table(
        "rollout_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("prompts", sa.Integer(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTERS[:4]),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"),
        sa.Column("gpu_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.Column("failures", JSON, nullable=False, server_default="{}"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["stage_id"], ["run_stages.id"],
                                name=op.f("fk_rollout_chunks_stage_id_run_stages"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_chunks")),
        sa.UniqueConstraint("stage_id", "index", name=op.f("uq_rollout_chunks_stage_id_index")),
    )  # fmt: skip
    # Counters are not copied back: the stage's generations remain the truth.
    op.execute(
        'INSERT INTO rollout_chunks (id, stage_id, "index", first_position, last_position, prompts, status, '
        'task_id, heartbeat_at, error) SELECT id, stage_id, "index", first_position, last_position, items, '
        "status, task_id, heartbeat_at, error FROM stage_chunks"
    )
    op.drop_table("stage_chunks")
