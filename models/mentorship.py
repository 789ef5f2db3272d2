"""A mentorship, from the mentee's request to its end, and its event log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.user import User


class Stage(StrEnum):
    REQUESTED = "requested"
    INTRO = "intro"
    ACTIVE = "active"
    CLOSING = "closing"
    COMPLETED = "completed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    ENDED = "ended"


OPEN_STAGES = (Stage.REQUESTED, Stage.INTRO, Stage.ACTIVE, Stage.CLOSING)
FINISHED_STAGES = (Stage.COMPLETED, Stage.DECLINED, Stage.WITHDRAWN, Stage.ENDED)
_OPEN_SQL = "stage IN ('requested', 'intro', 'active', 'closing')"


class Mentorship(Base):
    __tablename__ = "mentorship"
    __table_args__ = (
        # At most one open mentorship (or request) per pair: the database backs up the rule.
        Index(
            "uq_mentorship_open_pair",
            "mentee_id",
            "mentor_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        # operators' lists: who must act (or on what), the longest waiting first; what is late
        Index("ix_mentorship_next_who", "next_who", "next_since"),
        Index("ix_mentorship_next_action", "next_action", "next_since"),
        Index("ix_mentorship_next_overdue_at", "next_overdue_at"),
        Index("ix_mentorship_next_changes_at", "next_changes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    request_message: Mapped[str] = mapped_column(Text)
    # the mentor's words on accepting (optional)
    acceptance_message: Mapped[str | None] = mapped_column(Text, default=None)
    closing_reason: Mapped[str | None] = mapped_column(Text)
    # why it ended early, from a short list (services.mentorships.END_REASONS)
    closing_code: Mapped[str | None] = mapped_column(String(20), default=None)
    requested_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    # the stage the lifecycle run waits in (or finished in); NULL while a pass is under way or
    # before the run first waited. The run needs waking when the facts moved past it.
    run_stage: Mapped[str | None] = mapped_column(String(20))
    # sequence of the newest event, and of the newest one whose consequences were handled
    last_seq: Mapped[int] = mapped_column(default=0)
    processed_seq: Mapped[int] = mapped_column(default=0)
    # the consequence handler that holds this mentorship's events, and until when
    handler_token: Mapped[str | None] = mapped_column(String(32))
    handler_until: Mapped[datetime | None]
    # when a consequence handler was queued for the events and has not started yet
    consequences_queued_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    # its next step as ``services.progress.waiting_for`` says (``services.next_steps`` writes
    # it with every fact): who, what, since when, when it is late (NULL: never, e.g. "meet"),
    # and when the clock alone changes it (a live meeting's start; NULL: only a fact can).
    # All NULL when nobody must act; an open one with no ``next_action`` was never filled.
    next_who: Mapped[str | None] = mapped_column(String(10), default=None)
    next_action: Mapped[str | None] = mapped_column(String(40), default=None)
    next_since: Mapped[datetime | None] = mapped_column(default=None)
    next_overdue_at: Mapped[datetime | None] = mapped_column(default=None)
    next_changes_at: Mapped[datetime | None] = mapped_column(default=None)

    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id], lazy="joined", innerjoin=True)
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id], lazy="joined", innerjoin=True)

    def side_of(self, user_id: int) -> str | None:
        if user_id == self.mentee_id:
            return "mentee"
        if user_id == self.mentor_id:
            return "mentor"
        return None

    def other_side(self, user_id: int) -> int:
        return self.mentor_id if user_id == self.mentee_id else self.mentee_id

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class Event(Base):
    """One accepted fact or system consequence: audit trail, activity feed and the flow's outbox."""

    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("mentorship_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]
    # a consequence that failed: how often, the last error, and when it was given up
    # (services.handling.note_failure); the mentorship's later events go on without it
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    set_aside_at: Mapped[datetime | None] = mapped_column(default=None)
