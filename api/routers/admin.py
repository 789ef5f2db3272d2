"""Operators: every mentorship, filterable, and the program's figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Now, Operator, SessionDep
from api.i18n import Language
from api.problems import problems
from api.schemas.common import Output
from api.schemas.mentorships import MentorshipRead
from models import Stage
from services import handling, reports

router = APIRouter(prefix="/admin", tags=["operators"])


class StatsRead(Output):
    per_stage: dict[str, int]
    meetings_held: int
    feedback_count: int
    feedback_average: float | None
    feedback_average_by_role: dict[str, float | None]
    overdue: dict[str, int]


@router.get("/mentorships", responses=problems(403))
def all_mentorships(
    session: SessionDep,
    _operator: Operator,
    now: Now,
    language: Language,
    stage: Stage | None = None,
    waiting_for: Annotated[
        str | None, Query(description="who must act (mentee, mentor, both, system) or an action code")
    ] = None,
) -> list[MentorshipRead]:
    snaps = reports.all_mentorships(session, now=now, stage=stage, waiting_for_who=waiting_for)
    return [MentorshipRead.of(s, now, language) for s in snaps]


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
def stats(session: SessionDep, _operator: Operator, now: Now) -> StatsRead:
    """Counts per stage, meetings held, feedback averages and what is overdue."""
    return StatsRead.model_validate(reports.program_stats(session, now=now))
