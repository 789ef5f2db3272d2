"""Where a mentorship stands: who must do what next, its meetings held and next meeting."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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

    @property
    def current_agreement(self) -> AgreementVersion | None:
        approved = [v for v in self.versions if v.status == AgreementStatus.APPROVED]
        return approved[-1] if approved else None

    @property
    def pending_agreement(self) -> AgreementVersion | None:
        return next((v for v in self.versions if v.status == AgreementStatus.PENDING), None)

    @property
    def meetings_held(self) -> int:
        return sum(1 for m in self.meetings if m.status == MeetingStatus.HELD)

    def next_meeting(self, now: datetime) -> Meeting | None:
        upcoming = [
            m
            for m in self.meetings
            if m.status in (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED) and m.starts_at > now
        ]
        return min(upcoming, key=lambda m: m.starts_at, default=None)


def snapshots(session: Session, mentorships: list[Mentorship]) -> list[Snapshot]:
    """Two queries for any number of mentorships (no N+1 on listings)."""
    ids = [m.id for m in mentorships]
    versions: dict[int, list[AgreementVersion]] = defaultdict(list)
    meetings: dict[int, list[Meeting]] = defaultdict(list)
    if ids:
        for v in session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.mentorship_id.in_(ids))
            .order_by(AgreementVersion.number)
        ):
            versions[v.mentorship_id].append(v)
        for meeting in session.scalars(
            select(Meeting).where(Meeting.mentorship_id.in_(ids)).order_by(Meeting.starts_at, Meeting.id)
        ):
            meetings[meeting.mentorship_id].append(meeting)
    return [Snapshot(m, versions[m.id], meetings[m.id]) for m in mentorships]


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
