"""The human review queue: tasks with leases, every decision in an audit log, and human labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, JSONType, UTCDateTime, utcnow

OPEN = "open"  # claimable; also a leased task whose lease ran out
LEASED = "leased"
DONE = "done"
CLOSED = "closed"  # a maintainer closed the queue before anyone decided it


class ReviewTask(Base):
    """One reviewer's slot on one generation; an overlap item has two slots (slot 0 and 1), which two
    different reviewers take."""

    __tablename__ = "review_tasks"
    __table_args__ = (
        UniqueConstraint("run_id", "generation_id", "slot"),
        # claim-next reads this index in order and skips locked rows. Open slots only: a claim or a
        # decision then adds no entry at its head, where every reviewer's scan starts (with leased
        # slots in it, each claim inserted one there and the dead ones piled up unpruned).
        Index(
            "ix_review_tasks_claim",
            "run_id",
            "priority",
            "id",
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
        Index("ix_review_tasks_generation", "generation_id", "reviewer_id"),
        # a reviewer's live item, and leases that ran out, found without reading the open ones
        Index(
            "ix_review_tasks_leased",
            "run_id",
            "reviewer_id",
            postgresql_where=text("state = 'leased'"),
            sqlite_where=text("state = 'leased'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(32))  # see backend/reviews/routing.py REASONS
    priority: Mapped[int] = mapped_column(default=0)  # lower first
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewCount(Base):
    """Slots each reviewer decided in a run (undo takes one back): the review stage's live progress is
    their sum. One row per reviewer, so simultaneous decisions never wait on a shared counter row."""

    __tablename__ = "review_counts"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(primary_key=True)  # no foreign key: the count outlives a user
    decided: Mapped[int] = mapped_column(default=0)


class Review(Base):
    """The audit log: every decision (accept, reject, edit, skip, undo), who and when; an edit keeps
    the original beside the new text. An undone decision stays, marked undone."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_generation", "generation_id", "id"),
        Index("ix_reviews_run_reviewer", "run_id", "reviewer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), default=None)
    task_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("review_tasks.id", ondelete="CASCADE"), default=None
    )
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(16))  # accept | reject | edit | skip | undo
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    undone: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HumanLabel(Base):
    """A person's accept/reject of a generation: from a review decision or imported. Calibration reads
    these; one label per (generation, person, source)."""

    __tablename__ = "human_labels"
    __table_args__ = (
        UniqueConstraint("generation_id", "user_id", "source"),
        Index("ix_human_labels_project", "project_id", "generation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted: Mapped[bool] = mapped_column()
    source: Mapped[str] = mapped_column(String(16))  # review | import
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
