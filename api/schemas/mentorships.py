"""Mentorships, agreements and meetings as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from api.schemas.common import Input, Output, PersonRef, TopicName
from models import AgreementVersion, Meeting, MeetingMode, Mentorship, Stage
from services.agreement_changes import HistoryEntry
from services.agreements import AgreementTerms
from services.i18n import SOURCE_LANGUAGE, moment, translate
from services.meetings import MeetingMove, MeetingPlan
from services.progress import Period, PeriodStatus, Snapshot, WaitingFor, waiting_for


class MentorshipCreate(Input):
    mentor_id: int
    message: str = Field(min_length=1, max_length=4000)


#: The longest message a mentor may send on accepting (the portal's field says the same).
ACCEPTANCE_MESSAGE_LENGTH = 2000


class Acceptance(Input):
    message: str = Field(
        default="",
        max_length=ACCEPTANCE_MESSAGE_LENGTH,
        description="optional words to the mentee, in the notification, the mail and on the mentorship",
    )


class WaitingForRead(Output):
    who: str
    what: str
    action: str
    params: dict[str, Any]

    @classmethod
    def of(
        cls, w: WaitingFor | None, language: str = SOURCE_LANGUAGE, timezone: str = "UTC"
    ) -> WaitingForRead | None:
        """``what`` in the reader's ``language``, a time in it in their ``timezone``; ``who``,
        ``action`` and ``params`` are codes (``params.starts_at`` stays ISO 8601 in UTC)."""
        if w is None:
            return None
        words = dict(w.params)
        if isinstance(words.get("starts_at"), str):
            words["starts_at"] = moment(words["starts_at"], language, timezone)
        return cls(who=w.who, what=translate(w.what, language, **words), action=w.action, params=w.params)


class PeriodRead(Output):
    """How much of the agreed period has passed, as the reader's calendar stands today."""

    starts_on: date
    ends_on: date
    days: int = Field(description="the period's length in days, both ends counted")
    days_elapsed: int = Field(
        description="days passed, the start day as day 1: 0 before the start, days after the end"
    )
    status: PeriodStatus = Field(description="not_started, under_way or ended")

    @classmethod
    def maybe(cls, period: Period | None) -> PeriodRead | None:
        return None if period is None else cls.model_validate(period)


class EndReason(StrEnum):
    GOALS_REACHED = "goals_reached"
    NO_TIME = "no_time"
    NOT_A_FIT = "not_a_fit"
    OTHER = "other"


class EndRequest(Input):
    reason_code: EndReason
    reason: str = Field(default="", max_length=2000)


class ContactMode(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"


class PlannedTopic(Input):
    topic: str = Field(min_length=1, max_length=200)
    notes: str = Field(default="", max_length=4000)


class AgreementWrite(Input):
    period_start: date
    period_end: date
    planned_meetings: int = Field(ge=1, le=200)
    contact_modes: list[ContactMode] = Field(min_length=1, max_length=len(ContactMode))
    contact_frequency: str = Field(min_length=1, max_length=200)
    content_plan: list[PlannedTopic] = Field(default_factory=list, max_length=50)
    notes: str = Field(default="", max_length=8000)

    @field_validator("period_end")
    @classmethod
    def _period_in_order(cls, period_end: date, info: ValidationInfo) -> date:
        # a field validator, so the 422 names ``period_end`` as the field at fault
        start = info.data.get("period_start")
        if start is not None and period_end < start:
            raise ValueError("period_end must not be before period_start")
        return period_end

    def terms(self) -> AgreementTerms:
        return AgreementTerms(
            period_start=self.period_start,
            period_end=self.period_end,
            planned_meetings=self.planned_meetings,
            contact_modes=[m.value for m in dict.fromkeys(self.contact_modes)],
            contact_frequency=self.contact_frequency,
            content_plan=[item.model_dump() for item in self.content_plan],
            notes=self.notes,
        )


class AgreementVersionRead(Output):
    number: int
    status: str
    author_id: int
    period_start: date
    period_end: date
    planned_meetings: int
    contact_modes: list[str]
    contact_frequency: str
    content_plan: list[dict[str, Any]]
    notes: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by_id: int | None
    rejection_reason: str | None
    version: int

    @classmethod
    def maybe(cls, v: AgreementVersion | None) -> AgreementVersionRead | None:
        return None if v is None else cls.model_validate(v)


class AgreementChangeRead(Output):
    """One difference from the previous version (``services.agreement_changes``)."""

    field: str = Field(
        description="period, planned_meetings, contact_modes, contact_frequency, content_plan or notes"
    )
    kind: str = Field(description="changed; for a content plan topic also added or removed")
    topic: str | None = Field(default=None, description="the content plan's topic it is about")
    before: Any = Field(default=None, description="the value before; a period is [start, end]")
    after: Any = Field(default=None, description="the value after; a topic's value is its notes")


class AgreementHistoryEntry(AgreementVersionRead):
    changed_from: int | None = Field(
        description="the number of the version compared with; null for the first"
    )
    changes: list[AgreementChangeRead]

    @classmethod
    def of(cls, entry: HistoryEntry) -> AgreementHistoryEntry:
        read = AgreementVersionRead.model_validate(entry.agreement)
        changes = [AgreementChangeRead.model_validate(c) for c in entry.changes]
        return cls(**read.model_dump(), changed_from=entry.previous, changes=changes)


class AgreementRead(Output):
    current: AgreementVersionRead | None
    pending: AgreementVersionRead | None
    draft: AgreementVersionRead | None
    history: list[AgreementHistoryEntry] = Field(
        description="every submitted version, oldest first, each with what changed from the one before"
    )


class AgreementApproval(Input):
    number: int = Field(ge=1, description="The agreement's number (v1 → 1) to approve.")


class AgreementRejection(Input):
    number: int = Field(ge=1, description="The agreement's number (v1 → 1) to reject.")
    reason: str = Field(min_length=1, max_length=2000)


class MeetingCreate(Input):
    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=10, le=480)
    mode: MeetingMode
    location: str = Field(default="", max_length=500)
    agenda: str = Field(default="", max_length=4000)
    topics: list[TopicName] = Field(default_factory=list, max_length=20)
    is_final: bool = False

    def plan(self) -> MeetingPlan:
        return MeetingPlan(
            starts_at=self.starts_at,
            duration_minutes=self.duration_minutes,
            mode=self.mode.value,
            location=self.location,
            agenda=self.agenda,
            topics=tuple(self.topics),
            is_final=self.is_final,
        )


class MeetingReschedule(Input):
    """A new time and/or place: the fields given change, the others stay as they are."""

    starts_at: AwareDatetime | None = None
    duration_minutes: int | None = Field(default=None, ge=10, le=480)
    mode: MeetingMode | None = None
    location: str | None = Field(default=None, max_length=500)

    def move(self) -> MeetingMove:
        return MeetingMove(
            starts_at=self.starts_at,
            duration_minutes=self.duration_minutes,
            mode=None if self.mode is None else self.mode.value,
            location=self.location,
        )


class Attendance(Output):
    mentee: bool | None
    mentor: bool | None


class MeetingRead(Output):
    id: int
    mentorship_id: int
    status: str
    is_intro: bool
    is_final: bool
    starts_at: datetime
    duration_minutes: int
    mode: str
    location: str
    agenda: str
    topics: list[str]
    reason: str | None
    held_at: datetime | None
    attendance: Attendance
    version: int

    @classmethod
    def of(cls, meeting: Meeting, mentorship: Mentorship) -> MeetingRead:
        def answer(user_id: int) -> bool | None:
            a = meeting.attendance_of(user_id)
            return None if a is None else a.attended

        return cls(
            **{f: getattr(meeting, f) for f in cls.model_fields if f != "attendance"},
            attendance=Attendance(mentee=answer(mentorship.mentee_id), mentor=answer(mentorship.mentor_id)),
        )


class AttendanceWrite(Input):
    attended: bool


class FeedbackCreate(Input):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=4000)


class FeedbackRead(Output):
    id: int
    mentorship_id: int
    meeting_id: int | None
    rating: int
    comment: str
    created_at: datetime


class MentorshipRead(Output):
    id: int
    mentee: PersonRef
    mentor: PersonRef
    stage: Stage
    request_message: str
    acceptance_message: str | None  # the mentor's words on accepting
    closing_reason: str | None
    closing_code: str | None  # why it ended early: goals_reached, no_time, not_a_fit, other
    waiting_for: WaitingForRead | None
    agreement: AgreementVersionRead | None
    meetings_held: int  # every meeting held, the get-to-know-you meeting too
    agreed_meetings_held: int  # as the agreement counts them: without the get-to-know-you meeting
    meetings_planned: int | None  # the agreement in force's number of meetings
    period: PeriodRead | None  # the agreement in force's period elapsed; stops when it finished
    next_meeting: MeetingRead | None
    flow_run_id: str | None
    requested_at: datetime
    accepted_at: datetime | None
    activated_at: datetime | None
    finished_at: datetime | None
    last_activity_at: datetime
    version: int

    @classmethod
    def of(
        cls, snap: Snapshot, now: datetime, language: str = SOURCE_LANGUAGE, timezone: str = "UTC"
    ) -> MentorshipRead:
        """``timezone`` is the reader's: it decides which calendar day ``now`` is."""
        m = snap.mentorship
        upcoming, agreement = snap.next_meeting(now), snap.current_agreement
        return cls(
            id=m.id,
            mentee=PersonRef.model_validate(m.mentee),
            mentor=PersonRef.model_validate(m.mentor),
            stage=Stage(m.stage),
            request_message=m.request_message,
            acceptance_message=m.acceptance_message,
            closing_reason=m.closing_reason,
            closing_code=m.closing_code,
            waiting_for=WaitingForRead.of(waiting_for(snap, now), language, timezone),
            agreement=AgreementVersionRead.maybe(agreement),
            meetings_held=snap.meetings_held,
            agreed_meetings_held=snap.regular_meetings_held,
            meetings_planned=None
            if snap.current_agreement is None
            else snap.current_agreement.planned_meetings,
            period=PeriodRead.maybe(snap.period(now, timezone)),
            next_meeting=None if upcoming is None else MeetingRead.of(upcoming, m),
            flow_run_id=m.flow_run_id,
            requested_at=m.requested_at,
            accepted_at=m.accepted_at,
            activated_at=m.activated_at,
            finished_at=m.finished_at,
            last_activity_at=m.last_activity_at,
            version=m.version,
        )
