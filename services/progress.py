"""Where a mentorship stands: who must do what next, its meetings held and next meeting, and
how much of its agreed period has passed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, load_only

from models import (
    FINISHED_STAGES,
    AgreementStatus,
    AgreementVersion,
    Meeting,
    MeetingStatus,
    Mentorship,
    Stage,
)
from services.i18n import _

#: A person who has not done their next step for this long holds the pair up (operators' lists).
OVERDUE_AFTER = timedelta(days=3)
#: The engine's own steps take seconds; one this late is stuck.
SYSTEM_OVERDUE_AFTER = timedelta(minutes=15)
LIVE_MEETINGS = (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED)


@dataclass(frozen=True)
class WaitingFor:
    who: str  # "mentee" | "mentor" | "both" | "system"
    action: str  # a stable code, e.g. "approve_agreement"
    what: str  # for people
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Snapshot:
    """The parts of a mentorship that decide what happens next, loaded in bulk."""

    mentorship: Mentorship
    versions: list[AgreementVersion] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    #: meetings held, when ``meetings`` holds only what decides the next step (``live_only``)
    held_count: int | None = None

    @property
    def current_agreement(self) -> AgreementVersion | None:
        approved = [v for v in self.versions if v.status == AgreementStatus.APPROVED]
        return approved[-1] if approved else None

    @property
    def pending_agreement(self) -> AgreementVersion | None:
        return next((v for v in self.versions if v.status == AgreementStatus.PENDING), None)

    @property
    def meetings_held(self) -> int:
        if self.held_count is not None:
            return self.held_count
        return sum(1 for m in self.meetings if m.status == MeetingStatus.HELD)

    @property
    def regular_meetings_held(self) -> int:
        """Meetings held as the agreement counts them (not the get-to-know-you meeting); from a
        full snapshot only."""
        return sum(1 for m in self.meetings if m.status == MeetingStatus.HELD and not m.is_intro)

    def period(self, now: datetime, zone: str | tzinfo = "UTC") -> Period | None:
        """The agreement in force's period as the reader's calendar (``zone``) stands at
        ``now``; a finished mentorship's stopped on the day it finished."""
        m = self.mentorship
        until = m.finished_at if m.stage in FINISHED_STAGES and m.finished_at is not None else now
        return period_of(self.current_agreement, local_day(min(until, now), zone))

    def next_meeting(self, now: datetime) -> Meeting | None:
        upcoming = [
            m
            for m in self.meetings
            if m.status in (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED) and m.starts_at > now
        ]
        return min(upcoming, key=lambda m: m.starts_at, default=None)


PeriodStatus = Literal["not_started", "under_way", "ended"]


@dataclass(frozen=True)
class Period:
    """The agreed period as of one day: ``days`` long (both ends count), ``days_elapsed`` of
    them passed (0 before the start, ``days`` after the end; the start day is day 1)."""

    starts_on: date
    ends_on: date
    days: int
    days_elapsed: int
    status: PeriodStatus

    @property
    def week(self) -> int:
        """The week the period is in (1 on its first seven days)."""
        return -(-self.days_elapsed // 7)

    @property
    def weeks(self) -> int:
        return -(-self.days // 7)


def period_of(agreement: AgreementVersion | None, today: date) -> Period | None:
    """How far the agreement's period is on ``today`` (None without an agreement)."""
    if agreement is None:
        return None
    start, end = agreement.period_start, agreement.period_end
    days = (end - start).days + 1
    if today < start:
        return Period(start, end, days, 0, "not_started")
    if today > end:
        return Period(start, end, days, days, "ended")
    return Period(start, end, days, (today - start).days + 1, "under_way")


def local_day(now: datetime, zone: str | tzinfo) -> date:
    """The calendar day ``now`` falls on for a person in ``zone`` (a name; UTC if unknown)."""
    if isinstance(zone, str):
        try:
            zone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def snapshots(
    session: Session, mentorships: list[Mentorship], *, live_only: bool = False, refresh: bool = False
) -> list[Snapshot]:
    """A few queries for any number of mentorships (no N+1 on listings).

    ``live_only`` loads only what decides the next step: the pending and approved agreements
    and the meetings still to happen (or a final one held), each with only the columns that
    matter, and counts the held meetings; enough for ``waiting_for`` over thousands of
    mentorships. ``refresh`` loads whole rows over such light objects in the session.
    """
    ids = [m.id for m in mentorships]
    versions: dict[int, list[AgreementVersion]] = defaultdict(list)
    meetings: dict[int, list[Meeting]] = defaultdict(list)
    held: dict[int, int] = {}
    for chunk in _chunks(ids):
        version_query = select(AgreementVersion).where(AgreementVersion.mentorship_id.in_(chunk))
        meeting_query = select(Meeting).where(Meeting.mentorship_id.in_(chunk))
        if live_only:
            version_query = version_query.where(
                AgreementVersion.status.in_((AgreementStatus.PENDING, AgreementStatus.APPROVED))
            ).options(load_only(*_VERSION_DECIDES))
            meeting_query = meeting_query.where(
                or_(
                    Meeting.status.in_(LIVE_MEETINGS),
                    and_(Meeting.is_final.is_(True), Meeting.status == MeetingStatus.HELD),
                )
            ).options(load_only(*_MEETING_DECIDES))
            counted = session.execute(
                select(Meeting.mentorship_id, func.count())
                .where(Meeting.mentorship_id.in_(chunk), Meeting.status == MeetingStatus.HELD)
                .group_by(Meeting.mentorship_id)
            ).tuples()
            held.update((mentorship_id, n) for mentorship_id, n in counted)
        if refresh:
            version_query = version_query.execution_options(populate_existing=True)
            meeting_query = meeting_query.execution_options(populate_existing=True)
        for v in session.scalars(version_query.order_by(AgreementVersion.number)):
            versions[v.mentorship_id].append(v)
        for meeting in session.scalars(meeting_query.order_by(Meeting.starts_at, Meeting.id)):
            meetings[meeting.mentorship_id].append(meeting)
    return [
        Snapshot(m, versions[m.id], meetings[m.id], held.get(m.id, 0) if live_only else None)
        for m in mentorships
    ]


_VERSION_DECIDES = (
    AgreementVersion.mentorship_id,
    AgreementVersion.number,
    AgreementVersion.status,
    AgreementVersion.author_id,
    AgreementVersion.submitted_at,
    AgreementVersion.planned_meetings,
)
_MEETING_DECIDES = (
    Meeting.mentorship_id,
    Meeting.status,
    Meeting.is_final,
    Meeting.is_intro,
    Meeting.starts_at,
    Meeting.created_at,
)


def _chunks(ids: list[int], size: int = 5000) -> list[list[int]]:
    """Bounded ``IN`` lists: SQLite takes at most 32,766 parameters in one statement."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def snapshot(session: Session, mentorship: Mentorship) -> Snapshot:
    return snapshots(session, [mentorship])[0]


def waiting_for(snap: Snapshot, now: datetime) -> WaitingFor | None:
    m = snap.mentorship
    if m.stage in FINISHED_STAGES:
        return None
    if m.stage == Stage.REQUESTED:
        return WaitingFor("mentor", "answer_request", _("answer the request"))
    if m.stage == Stage.CLOSING:
        return WaitingFor("system", "issue_certificates", _("issue the certificates"))
    return _waiting_in_working_stage(snap, now)


def _waiting_in_working_stage(snap: Snapshot, now: datetime) -> WaitingFor:
    m = snap.mentorship
    pending = snap.pending_agreement
    if pending is not None:
        who = "mentor" if pending.author_id == m.mentee_id else "mentee"
        return WaitingFor(
            who, "approve_agreement", _("approve agreement v{number}"), {"number": pending.number}
        )
    for meeting in snap.meetings:
        if meeting.status == MeetingStatus.PROPOSED and meeting.starts_at > now:
            return WaitingFor(
                "mentor",
                "confirm_meeting",
                _("confirm the meeting on {starts_at}"),
                {"meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat()},
            )
        if meeting.status == MeetingStatus.CONFIRMED and meeting.starts_at <= now:
            answered = {a.user_id for a in meeting.attendances}
            missing = [
                side
                for side, uid in (("mentee", m.mentee_id), ("mentor", m.mentor_id))
                if uid not in answered
            ]
            if not missing:  # both answered: it is held or missed in this same transaction
                continue
            return WaitingFor(
                "both" if len(missing) == 2 else missing[0],
                "confirm_attendance",
                _("confirm participation in the meeting on {starts_at}"),
                {"meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat()},
            )
    upcoming = snap.next_meeting(now)
    if upcoming is not None and upcoming.status == MeetingStatus.CONFIRMED:
        return WaitingFor(
            "both",
            "meet",
            _("meet on {starts_at}"),
            {"meeting_id": upcoming.id, "starts_at": upcoming.starts_at.isoformat()},
        )
    if m.stage == Stage.INTRO and snap.current_agreement is None:
        if snap.meetings_held == 0:
            return WaitingFor("mentee", "propose_intro_meeting", _("propose the get-to-know-you meeting"))
        return WaitingFor("mentee", "submit_agreement", _("write and submit the agreement"))
    if m.stage == Stage.INTRO:  # approved; the lifecycle flow moves the stage in a moment
        return WaitingFor("system", "activate", _("start the mentorship"))
    if any(meeting.is_final and meeting.status == MeetingStatus.HELD for meeting in snap.meetings):
        # the final meeting was held; the lifecycle flow begins closing in a moment
        return WaitingFor("system", "issue_certificates", _("issue the certificates"))
    return WaitingFor("mentee", "propose_meeting", _("propose the next meeting"))


def waiting_since(snap: Snapshot, waiting: WaitingFor) -> datetime:
    """Since when the mentorship has waited for ``waiting``: the moment the step became due
    (the request, the submission, the proposal, the meeting's start), else its last activity."""
    m = snap.mentorship
    meeting_id = waiting.params.get("meeting_id")
    meeting = next((x for x in snap.meetings if x.id == meeting_id), None)
    pending = snap.pending_agreement
    if waiting.action == "answer_request":
        return m.requested_at
    if waiting.action == "approve_agreement" and pending is not None and pending.submitted_at:
        return pending.submitted_at
    if waiting.action == "confirm_meeting" and meeting is not None:
        return meeting.created_at
    if waiting.action == "confirm_attendance" and meeting is not None:
        return meeting.starts_at
    return m.last_activity_at


def overdue_at(waiting: WaitingFor, since: datetime) -> datetime | None:
    """When the step becomes late: a person's ``OVERDUE_AFTER`` after ``since``, the engine's
    ``SYSTEM_OVERDUE_AFTER``; None for a confirmed meeting still to come (nobody's delay)."""
    if waiting.action == "meet":
        return None
    return since + (SYSTEM_OVERDUE_AFTER if waiting.who == "system" else OVERDUE_AFTER)


def is_overdue(waiting: WaitingFor, since: datetime, now: datetime) -> bool:
    """Whether the step is late at ``now`` (after ``overdue_at``)."""
    late_from = overdue_at(waiting, since)
    return late_from is not None and now > late_from


def changes_at(snap: Snapshot, now: datetime) -> datetime | None:
    """When the clock alone changes what ``waiting_for`` says: the earliest start after ``now``
    of a live meeting (a proposed one that started no longer waits for confirmation, a
    confirmed one that started waits for attendance); None if only a fact can change it."""
    return min(
        (m.starts_at for m in snap.meetings if m.status in LIVE_MEETINGS and m.starts_at > now),
        default=None,
    )
