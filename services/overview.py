"""The program overview operators open first: where the mentorships stand, what is stuck on
whom, meetings per month, how requests are answered, feedback, fit and closure-survey figures
and early ends.

Private by default: a feedback average, a survey figure, and an early-end reason in words,
shows only once at least ``MIN_AUTHORS`` people gave it (fewer would tell operators what those people said).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from models import Feedback, Meeting, MeetingStatus, Mentorship, Stage
from services.listing import Row, stuck
from services.mentorships import END_REASONS, OTHER
from services.reports import MIN_AUTHORS, feedback_average, per_stage
from services.surveys import ClosureFigures, FitFigures, closure_figures, fit_figures

MONTHS_SHOWN = 12
EARLY_ENDS = (Stage.DECLINED, Stage.WITHDRAWN, Stage.ENDED)


@dataclass(frozen=True)
class RequestFigures:
    received: int
    accepted: int
    declined: int
    withdrawn_unanswered: int
    open: int
    median_hours_to_answer: float | None


@dataclass(frozen=True)
class FeedbackFigure:
    """One average rating (1–5), or None: fewer than ``MIN_AUTHORS`` people gave one."""

    about: str  # "meetings" | "mentorship"
    side: str  # "mentee" | "mentor"
    average: float | None


@dataclass(frozen=True)
class EarlyEnds:
    per_stage: dict[str, int]  # declined, withdrawn, ended
    ended_because: dict[str, int]  # ended early, per reason from the list (END_REASONS)
    reasons: list[tuple[str, int]]  # a reason given for at least MIN_AUTHORS ends, most first
    other_reasons: int  # ends whose reason is rarer (or none was given)


@dataclass(frozen=True)
class Overview:
    per_stage: dict[str, int]
    stuck: list[Row]  # the longest waiting, up to listing.PER_PAGE
    stuck_total: int
    meetings_per_month: list[tuple[str, int]]  # ("2026-11", 14), the last MONTHS_SHOWN months
    requests: RequestFigures
    feedback: list[FeedbackFigure]
    fit: FitFigures
    closure: ClosureFigures
    early_ends: EarlyEnds


def overview(session: Session, *, now: datetime) -> Overview:
    late = stuck(session, now=now)
    return Overview(
        per_stage=per_stage(session),
        stuck=late.rows,
        stuck_total=late.total,
        meetings_per_month=meetings_per_month(session, now=now),
        requests=request_figures(session),
        feedback=feedback_figures(session),
        fit=fit_figures(session),
        closure=closure_figures(session),
        early_ends=early_ends(session),
    )


def meetings_per_month(session: Session, *, now: datetime) -> list[tuple[str, int]]:
    """Meetings held per calendar month (UTC) of their start, zeros included, oldest first."""
    months = _last_months(now, MONTHS_SHOWN)
    first = datetime(int(months[0][:4]), int(months[0][5:]), 1, tzinfo=now.tzinfo)
    month = _month_of(session, Meeting.starts_at)
    counted = dict(
        session.execute(
            select(month, func.count())
            .where(Meeting.status == MeetingStatus.HELD, Meeting.starts_at >= first)
            .group_by(month)
        )
        .tuples()
        .all()
    )
    return [(m, int(counted.get(m, 0))) for m in months]


def request_figures(session: Session) -> RequestFigures:
    """How requests were answered, and the median time from request to the mentor's answer
    (counted and ordered in SQL: a program's every request never crosses into Python)."""
    kind = case(
        (Mentorship.accepted_at.is_not(None), "accepted"),
        (Mentorship.stage == Stage.DECLINED, "declined"),
        (Mentorship.stage == Stage.WITHDRAWN, "withdrawn"),
        else_="open",
    )
    counts: dict[str, int] = dict(session.execute(select(kind, func.count()).group_by(kind)).tuples().all())
    return RequestFigures(
        received=sum(counts.values()),
        accepted=counts.get("accepted", 0),
        declined=counts.get("declined", 0),
        withdrawn_unanswered=counts.get("withdrawn", 0),
        open=counts.get("open", 0),
        median_hours_to_answer=_median_hours_to_answer(session),
    )


def _median_hours_to_answer(session: Session) -> float | None:
    """The median of request → acceptance, or → decline, in hours (None without answers)."""
    answered_at = func.coalesce(Mentorship.accepted_at, Mentorship.finished_at)
    seconds = _seconds_between(session, Mentorship.requested_at, answered_at)
    answered = or_(
        Mentorship.accepted_at.is_not(None),
        and_(Mentorship.stage == Stage.DECLINED, Mentorship.finished_at.is_not(None)),
    )
    n = session.scalar(select(func.count()).where(answered)) or 0
    if n == 0:
        return None
    middle = session.scalars(
        select(seconds).where(answered).order_by(seconds).offset((n - 1) // 2).limit(2 - n % 2)
    ).all()
    return round(median(float(s) for s in middle) / 3600, 1)


def _seconds_between(
    session: Session, start: QueryableAttribute[datetime], end: ColumnElement[datetime]
) -> ColumnElement[Any]:
    """Seconds from ``start`` to ``end``, in the database's own words (SQLite stores UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def feedback_figures(session: Session) -> list[FeedbackFigure]:
    """Averages on meetings and on whole mentorships, by the side that gave them."""
    abouts = (("meetings", Feedback.meeting_id.is_not(None)), ("mentorship", Feedback.meeting_id.is_(None)))
    sides = (("mentee", Mentorship.mentee_id), ("mentor", Mentorship.mentor_id))
    return [
        FeedbackFigure(about, side, feedback_average(session, which, Feedback.author_id == author))
        for about, which in abouts
        for side, author in sides
    ]


def early_ends(session: Session) -> EarlyEnds:
    rows = session.execute(
        select(Mentorship.stage, Mentorship.closing_reason, Mentorship.closing_code).where(
            Mentorship.stage.in_(EARLY_ENDS)
        )
    ).tuples()
    stages: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for stage, reason, code in rows:
        stages[stage] += 1
        if stage == Stage.ENDED:
            codes[code or OTHER] += 1
        reasons[" ".join((reason or "").split()).rstrip(".").lower()] += 1
    shown = [(reason, n) for reason, n in reasons.most_common() if reason and n >= MIN_AUTHORS]
    return EarlyEnds(
        per_stage={stage.value: stages.get(stage.value, 0) for stage in EARLY_ENDS},
        ended_because={code: codes.get(code, 0) for code in END_REASONS},
        reasons=shown,
        other_reasons=stages.total() - sum(n for _, n in shown),
    )


def _last_months(now: datetime, count: int) -> list[str]:
    year, month = now.year, now.month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(found))


def _month_of(session: Session, column: ColumnElement[datetime] | object) -> ColumnElement[str]:
    """``YYYY-MM`` of a timestamp, in the database's own words (SQLite stores UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)
