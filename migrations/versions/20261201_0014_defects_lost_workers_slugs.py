"""run_stages.workers_lost and elapsed_before_s (automatic re-queue, elapsed time over segments);
projects.slug (unique, stable)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:00:00
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _slug(name: str, project_id: int) -> str:
    # A frozen copy of backend.projects.service.slug_for: a migration never imports the app.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].rstrip("-")
    return f"{words or 'project'}-{project_id}"


def upgrade() -> None:
    with op.batch_alter_table("run_stages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("elapsed_before_s", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("workers_lost", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=80), nullable=True))
    conn = op.get_bind()
    projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("name"), sa.column("slug"))
    for pid, name in conn.execute(sa.select(projects.c.id, projects.c.name)).all():
        conn.execute(projects.update().where(projects.c.id == pid).values(slug=_slug(name, pid)))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column("slug", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_projects_slug"), ["slug"])


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_projects_slug"), type_="unique")
        batch_op.drop_column("slug")
    with op.batch_alter_table("run_stages", schema=None) as batch_op:
        batch_op.drop_column("workers_lost")
        batch_op.drop_column("elapsed_before_s")
