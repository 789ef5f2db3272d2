"""Operators: every mentorship, filterable, and the program's figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from pydantic import Field

from api.deps import Now, Operator, OperatorReading, SessionDep
from api.downloads import CSV, csv_download
from api.i18n import Language
from api.problems import problems
from api.schemas.admin import ClosureFiguresRead, FitFiguresRead, ListedMentorshipRead, OverviewRead
from api.schemas.common import Output
from models import Stage
from services import exports, handling, listing, overview, reports, surveys

router = APIRouter(prefix="/admin", tags=["operators"])


class StatsRead(Output):
    per_stage: dict[str, int]
    meetings_held: int
    feedback_count: int
    feedback_average: float | None  # null until at least three people gave a rating
    feedback_average_by_role: dict[str, float | None]
    overdue: dict[str, int] = Field(
        description="late items: requests_unanswered, agreements_waiting, meetings_unconfirmed "
        "(proposed, start passed), attendance_missing; and mentorships, how many mentorships' "
        "next step is late (as /api/admin/mentorships?overdue=true)"
    )
    fit: FitFiguresRead
    closure: ClosureFiguresRead


@router.get("/mentorships", responses=problems(403))
def all_mentorships(
    session: SessionDep,
    operator: OperatorReading,
    now: Now,
    language: Language,
    response: Response,
    stage: Stage | None = None,
    waiting_for: Annotated[
        str | None,
        Query(max_length=40, description="who must act (mentee, mentor, both, system) or an action code"),
    ] = None,
    q: Annotated[str, Query(max_length=200, description="part of a participant's name or e-mail")] = "",
    overdue: Annotated[bool, Query(description="only those whose next step is late")] = False,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=listing.MAX_PER_PAGE, description="all if not given")] = None,
) -> list[ListedMentorshipRead]:
    """Newest request first; the total that match is in ``X-Total-Count``."""
    filters = listing.Filters(search=q, stage=stage, waiting_for=waiting_for, overdue=overdue)
    found = listing.list_mentorships(session, now=now, filters=filters, offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(found.total)
    return [ListedMentorshipRead.of_row(row, now, language, operator.timezone) for row in found.rows]


class SetAsideRead(Output):
    """An event whose consequences kept failing and were given up (mails, achievements,
    notifications of that one fact); the mentorship's later events went on without it."""

    mentorship_id: int
    seq: int
    type: str
    occurred_at: datetime
    failures: int
    error: str
    set_aside_at: datetime


@router.get("/set-aside", responses=problems(403))
def set_aside(session: SessionDep, _operator: Operator) -> list[SetAsideRead]:
    """Events set aside after failing again and again, newest first, with their last error."""
    return [
        SetAsideRead(
            mentorship_id=e.mentorship_id,
            seq=e.seq,
            type=e.type,
            occurred_at=e.occurred_at,
            failures=e.failures,
            error=e.last_error or "",
            set_aside_at=e.set_aside_at,
        )
        for e in handling.set_aside_events(session)
        if e.set_aside_at is not None
    ]


@router.get("/stats", responses=problems(403))
def stats(session: SessionDep, _operator: OperatorReading, now: Now) -> StatsRead:
    """Counts per stage, meetings held, feedback averages, what is overdue, and the fit and
    closure-survey figures (each figure only from at least three people, else null)."""
    found = reports.program_stats(session, now=now)
    return StatsRead(
        **vars(found),
        fit=FitFiguresRead.model_validate(surveys.fit_figures(session)),
        closure=ClosureFiguresRead.model_validate(surveys.closure_figures(session)),
    )


@router.get("/overview", responses=problems(403))
def program_overview(
    session: SessionDep, operator: OperatorReading, now: Now, language: Language
) -> OverviewRead:
    """What the operators' overview page shows: stages, what is stuck on whom since when
    (longest first), meetings held per month, how requests are answered, feedback, fit and
    closure-survey figures (each from at least three people) and early ends."""
    return OverviewRead.of(overview.overview(session, now=now), now, language, operator.timezone)


@router.get(
    "/exports/mentorships.csv",
    responses={**problems(403), 200: {"content": {CSV: {}}, "description": "a CSV file, UTF-8"}},
    response_class=Response,
)
def mentorships_export(
    session: SessionDep,
    operator: OperatorReading,
    now: Now,
    language: Language,
    stage: Stage | None = None,
    waiting_for: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    overdue: bool = False,
) -> Response:
    """The mentorships that match the same filters as the list, one row each, with a header
    row; times in the operator's time zone."""
    filters = listing.Filters(search=q, stage=stage, waiting_for=waiting_for, overdue=overdue)
    body = exports.mentorships_csv(
        session, now=now, filters=filters, zone=ZoneInfo(operator.timezone), language=language
    )
    return csv_download(body, "mentorships", now)


@router.get(
    "/exports/meetings.csv",
    responses={**problems(403), 200: {"content": {CSV: {}}, "description": "a CSV file, UTF-8"}},
    response_class=Response,
)
def meetings_export(session: SessionDep, operator: Operator, now: Now) -> Response:
    """Every meeting with its pair, kind, status, time and both attendance answers."""
    return csv_download(exports.meetings_csv(session, zone=ZoneInfo(operator.timezone)), "meetings", now)
