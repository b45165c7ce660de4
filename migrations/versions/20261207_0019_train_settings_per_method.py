"""runs.recipe: the train settings as one model per method; stored recipes lose the other methods' fields

The train stage's settings were one model holding every method's fields (beta, num_generations,
max_completion_length, packing), so every stored recipe carries all of them; each method now takes
only its own and refuses the others. This rewrites each stored recipe's `train` key the way the old
trainers read it, so an old run still loads, re-queues and trains the same:
- a field no trainer of the run's method read is dropped (whatever its value: it was ignored);
- grpo read beta 0.1 (the old shared default, DPO's) as no KL term: it is stored as 0.0, GRPO's own
  default now;
- too_long is no longer waivable (train.too_long decides): a waived too_long trained without the
  examples over max_length, which is what too_long: exclude does.
The downgrade changes nothing: the old model reads the new recipes with its defaults for what is gone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the old model's per-method fields, and the methods whose trainer read each
READ_BY = {
    "beta": ("dpo", "grpo", "distill"),
    "num_generations": ("grpo",),
    "max_completion_length": ("grpo", "distill"),
    "packing": ("sft",),
}
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def per_method(train: dict[str, Any]) -> dict[str, Any]:
    """An old stored `train` key as the new per-method model takes it (unchanged when it already does)."""
    method = train.get("method") or "sft"
    out = {k: v for k, v in train.items() if method in READ_BY.get(k, (method,))}
    if method == "grpo" and out.get("beta") == 0.1:
        out["beta"] = 0.0
    waived = out.get("override_checks")
    if isinstance(waived, list) and "too_long" in waived:
        out["override_checks"] = [c for c in waived if c != "too_long"]
        out["too_long"] = "exclude"
    return out


def upgrade() -> None:
    conn = op.get_bind()
    runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("recipe", JSON))
    for run_id, recipe in conn.execute(sa.select(runs.c.id, runs.c.recipe)).all():
        train = (recipe or {}).get("train")
        if isinstance(train, dict) and per_method(train) != train:
            new = {**recipe, "train": per_method(train)}
            conn.execute(runs.update().where(runs.c.id == run_id).values(recipe=new))


def downgrade() -> None:
    pass
