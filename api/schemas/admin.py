"""What operators read and write through the API: listed mentorships, the program overview,
the program's settings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator, validate_email

from api.schemas.common import Input, Output, PersonRef
from api.schemas.mentorships import MentorshipRead, WaitingForRead
from models import Stage
from services import listing, overview
from tasks.engine import run_url


class ListedMentorshipRead(MentorshipRead):
    """A mentorship as operators list it: also since when its next step waits, if that is late,
    and its lifecycle run's page in the Prefect UI."""

    waiting_since: datetime | None
    overdue: bool
    flow_run_url: str | None

    @classmethod
    def of_row(
        cls, row: listing.Row, now: datetime, language: str, timezone: str = "UTC"
    ) -> ListedMentorshipRead:
        return cls(
            **MentorshipRead.of(row.snap, now, language, timezone).model_dump(),
            waiting_since=row.since,
            overdue=row.overdue,
            flow_run_url=run_url(row.mentorship.flow_run_id),
        )


class StuckRead(Output):
    mentorship_id: int
    mentee: PersonRef
    mentor: PersonRef
    stage: Stage
    waiting_for: WaitingForRead
    since: datetime
    flow_run_url: str | None

    @classmethod
    def of(cls, row: listing.Row, language: str, timezone: str = "UTC") -> StuckRead:
        m = row.mentorship
        waiting = WaitingForRead.of(row.waiting, language, timezone)
        if waiting is None or row.since is None:
            raise ValueError(f"mentorship {m.id} waits for nobody: it is not stuck")
        return cls(
            mentorship_id=m.id,
            mentee=PersonRef.model_validate(m.mentee),
            mentor=PersonRef.model_validate(m.mentor),
            stage=Stage(m.stage),
            waiting_for=waiting,
            since=row.since,
            flow_run_url=run_url(m.flow_run_id),
        )


class MonthRead(Output):
    month: str  # YYYY-MM
    meetings_held: int


class RequestsRead(Output):
    received: int
    accepted: int
    declined: int
    withdrawn_unanswered: int
    open: int
    median_hours_to_answer: float | None


class FeedbackFigureRead(Output):
    about: str  # meetings | mentorship
    side: str  # the side that gave it: mentee | mentor
    average: float | None  # null: fewer than three people gave one


class FitFiguresRead(Output):
    """Shares (0–1) of the fit answers after the get-to-know-you meeting; all null until at
    least three people answered."""

    yes: float | None
    not_sure: float | None
    no: float | None


class ClosureFiguresRead(Output):
    """From the closure surveys; null until at least three people answered."""

    goals_reached_average: float | None  # 1–5
    would_recommend_share: float | None  # 0–1


class ReasonRead(Output):
    reason: str
    count: int


class EarlyEndsRead(Output):
    per_stage: dict[str, int]
    ended_because: dict[str, int]  # goals_reached, no_time, not_a_fit, other
    reasons: list[ReasonRead]  # each given for at least three ends
    other_reasons: int


class OverviewRead(Output):
    per_stage: dict[str, int]
    stuck: list[StuckRead]  # the longest waiting first, up to 50
    stuck_total: int  # how many wait too long (the list: /api/admin/mentorships?overdue=true)
    meetings_per_month: list[MonthRead]
    requests: RequestsRead
    feedback: list[FeedbackFigureRead]
    fit: FitFiguresRead
    closure: ClosureFiguresRead
    early_ends: EarlyEndsRead

    @classmethod
    def of(
        cls, found: overview.Overview, now: datetime, language: str, timezone: str = "UTC"
    ) -> OverviewRead:
        ends = found.early_ends
        return cls(
            per_stage=found.per_stage,
            stuck=[StuckRead.of(row, language, timezone) for row in found.stuck],
            stuck_total=found.stuck_total,
            meetings_per_month=[MonthRead(month=m, meetings_held=n) for m, n in found.meetings_per_month],
            requests=RequestsRead.model_validate(found.requests),
            feedback=[FeedbackFigureRead.model_validate(f) for f in found.feedback],
            fit=FitFiguresRead.model_validate(found.fit),
            closure=ClosureFiguresRead.model_validate(found.closure),
            early_ends=EarlyEndsRead(
                per_stage=ends.per_stage,
                ended_because=ends.ended_because,
                reasons=[ReasonRead(reason=r, count=n) for r, n in ends.reasons],
                other_reasons=ends.other_reasons,
            ),
        )


class ProgramRead(Output):
    name: str  # "" until operators name the program (then "Mentoring program" stands)
    contact_email: str


class ProgramWrite(Input):
    name: str = Field(min_length=1, max_length=120)
    contact_email: str = Field(default="", max_length=320, description="an e-mail address, or empty")

    @field_validator("contact_email")
    @classmethod
    def _an_address_or_none(cls, value: str) -> str:
        return validate_email(value)[1] if value.strip() else ""
