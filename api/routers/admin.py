"""Operators: every mentorship, filterable, and the program's figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Now, Operator, SessionDep
from api.i18n import Language
from api.problems import problems
from api.schemas.common import Output
from api.schemas.mentorships import MentorshipRead
from models import Stage
from services import reports

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


@router.get("/stats", responses=problems(403))
def stats(session: SessionDep, _operator: Operator, now: Now) -> StatsRead:
    """Counts per stage, meetings held, feedback averages and what is overdue."""
    return StatsRead.model_validate(reports.program_stats(session, now=now))
