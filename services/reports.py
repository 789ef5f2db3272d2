"""What operators see across the program, and each participant's activity feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, distinct, func, or_, select
from sqlalchemy.orm import Session

from models import (
    OPEN_STAGES,
    AgreementStatus,
    AgreementVersion,
    Event,
    Feedback,
    Meeting,
    MeetingStatus,
    Mentorship,
    Stage,
    User,
)
from services.next_steps import refresh_stale
from services.progress import OVERDUE_AFTER

#: Feedback figures for operators come from at least this many people (privacy by default).
MIN_AUTHORS = 3


@dataclass(frozen=True)
class ProgramStats:
    per_stage: dict[str, int]
    meetings_held: int
    feedback_count: int
    feedback_average: float | None
    feedback_average_by_role: dict[str, float | None]
    overdue: dict[str, int]


def program_stats(session: Session, *, now: datetime) -> ProgramStats:
    refresh_stale(session, now=now)
    held = session.scalar(select(func.count()).where(Meeting.status == MeetingStatus.HELD)) or 0
    count = session.scalar(select(func.count(Feedback.id))) or 0
    return ProgramStats(
        per_stage=per_stage(session),
        meetings_held=held,
        feedback_count=count,
        feedback_average=feedback_average(session),
        feedback_average_by_role={
            "mentee": feedback_average(session, Feedback.author_id == Mentorship.mentee_id),
            "mentor": feedback_average(session, Feedback.author_id == Mentorship.mentor_id),
        },
        overdue=_overdue(session, now),
    )


def per_stage(session: Session) -> dict[str, int]:
    """How many mentorships are in each stage (every stage named, zeros included)."""
    counts = dict(
        session.execute(select(Mentorship.stage, func.count()).group_by(Mentorship.stage)).tuples().all()
    )
    return {stage.value: counts.get(stage.value, 0) for stage in Stage}


def feedback_average(session: Session, *conditions: ColumnElement[bool]) -> float | None:
    """The mean rating of the feedback that meets ``conditions``, or None while fewer than
    ``MIN_AUTHORS`` people gave one: a figure from one or two people tells operators what
    those people said."""
    found = (
        select(Feedback.rating, Feedback.author_id)
        .join(Mentorship, Mentorship.id == Feedback.mentorship_id)
        .where(*conditions)
        .subquery()
    )
    authors, mean = session.execute(
        select(func.count(distinct(found.c.author_id)), func.avg(found.c.rating))
    ).one()
    return round(float(mean), 2) if authors >= MIN_AUTHORS and mean is not None else None


def _overdue(session: Session, now: datetime) -> dict[str, int]:
    """Late items of each kind, and how many mentorships' next step is late (their stored
    next step, ``services.next_steps``, as the operators' list filters it)."""
    before = now - OVERDUE_AFTER

    def count(query: object) -> int:
        return session.scalar(query) or 0  # type: ignore[call-overload]

    return {
        "requests_unanswered": count(
            select(func.count()).where(Mentorship.stage == Stage.REQUESTED, Mentorship.requested_at < before)
        ),
        "agreements_waiting": count(
            select(func.count()).where(
                AgreementVersion.status == AgreementStatus.PENDING, AgreementVersion.submitted_at < before
            )
        ),
        "meetings_unconfirmed": count(
            select(func.count()).where(Meeting.status == MeetingStatus.PROPOSED, Meeting.starts_at < now)
        ),
        "attendance_missing": count(
            select(func.count()).where(Meeting.status == MeetingStatus.CONFIRMED, Meeting.starts_at < before)
        ),
        "mentorships": count(
            select(func.count()).where(Mentorship.stage.in_(OPEN_STAGES), Mentorship.next_overdue_at < now)
        ),
    }


def activity_of(session: Session, user: User, *, limit: int = 200) -> list[Event]:
    """Events of the user's own mentorships, newest first."""
    own = select(Mentorship.id).where(or_(Mentorship.mentee_id == user.id, Mentorship.mentor_id == user.id))
    return list(
        session.scalars(
            select(Event)
            .where(Event.mentorship_id.in_(own))
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(limit)
        )
    )
