"""project names are unique per owner, not per installation

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_projects_name"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_projects_created_by_name"), ["created_by", "name"])


def downgrade() -> None:
    # Fails where two owners use one name: rename one of them first.
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_projects_created_by_name"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_projects_name"), ["name"])
