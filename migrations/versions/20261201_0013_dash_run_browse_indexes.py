"""indexes for the sample browser: filters by verdict, finish reason, verifier, judge score, prompt text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_generations_run_accepted", "generations", ["run_id", "accepted", "id"])
    op.create_index("ix_generations_run_finish", "generations", ["run_id", "finish_reason", "id"])
    op.create_index(
        "ix_verdicts_run_verifier_passed", "verdicts", ["run_id", "verifier", "passed", "generation_id"]
    )
    op.create_index(
        "ix_verdicts_run_verifier_score", "verdicts", ["run_id", "verifier", "score", "generation_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # Substring search (ILIKE '%...%') on prompt text; pg_trgm is a trusted extension (PG 13+).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_prompts_text_trgm",
            "prompts",
            ["text"],
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_prompts_text_trgm", table_name="prompts")
    op.drop_index("ix_verdicts_run_verifier_score", table_name="verdicts")
    op.drop_index("ix_verdicts_run_verifier_passed", table_name="verdicts")
    op.drop_index("ix_generations_run_finish", table_name="generations")
    op.drop_index("ix_generations_run_accepted", table_name="generations")
