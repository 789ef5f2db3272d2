"""Time-driven consequences (DESIGN rule 4), each a function of the database and ``now``.

The reminder functions return ``Consequences`` (notifications and mails) for
``services.consequences.record``; their dedupe keys name the thing waiting, so each sends at
most once per (thing, recipient, kind) however often a sweep runs:

==============================================  ==========================================
key (the thing waiting)                         sent
==============================================  ==========================================
inactivity:{mentorship}:{quiet since}:{period}  feedback request, once per period of quiet
reminder:request:{mentorship}                   request waiting for the mentor
reminder:agreement:{version}                    agreement version waiting for approval
reminder:meeting_proposed:{meeting}             proposed meeting waiting for confirmation
reminder:meeting_tomorrow:{meeting}:{start}     confirmed meeting within the next day
reminder:attendance:{meeting}                   meeting over, participation not confirmed
==============================================  ==========================================

A day-before reminder is keyed by the meeting's start (Unix seconds): a meeting moved after its
reminder went out is reminded again of its new time, never twice of one time (a move of the
place alone, or away and back, sends none).

``expire_request`` is the one sweep that changes a mentorship: an unanswered request becomes
``declined`` (closing reason ``expired``) with a ``mentorship.expired`` event, whose
notifications then follow like any other event's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    OPEN_STAGES,
    AgreementStatus,
    AgreementVersion,
    Event,
    Meeting,
    MeetingStatus,
    Mentorship,
    Notification,
    Stage,
)
from services.access import load_mentorship
from services.consequences import Consequences, add_notice, agreement_path, meeting_params
from services.events import append_event
from services.feedback_links import feedback_path
from services.lifecycle import move_stage

REMINDER_AFTER = timedelta(days=3)
MEETING_LEAD_TIME = timedelta(days=1)
EXPIRED = "expired"
_WORKING = (Stage.INTRO, Stage.ACTIVE)


def inactivity_period(mentorship: Mentorship, *, now: datetime, inactivity_after: timedelta) -> int:
    """How many whole periods of ``inactivity_after`` have passed since the last activity."""
    return max(0, (now - mentorship.last_activity_at) // inactivity_after)


def inactivity_feedback_requests(
    session: Session, *, now: datetime, inactivity_after: timedelta, secret_key: str
) -> Consequences:
    """Active pairs quiet for a period: ask both for feedback on the mentorship, once a period."""
    out = Consequences()
    quiet = session.scalars(
        select(Mentorship).where(
            Mentorship.stage == Stage.ACTIVE,
            Mentorship.last_activity_at <= now - inactivity_after,
        )
    ).unique()
    for mentorship in quiet:
        period = inactivity_period(mentorship, now=now, inactivity_after=inactivity_after)
        since = int(mentorship.last_activity_at.timestamp())
        for user_id in (mentorship.mentee_id, mentorship.mentor_id):
            link = feedback_path(
                secret_key, target="mentorship", target_id=mentorship.id, user_id=user_id, requested_at=now
            )
            add_notice(
                out,
                mentorship,
                user_id,
                "inactivity_feedback_request",
                thing=f"inactivity:{mentorship.id}:{since}:{period}",
                params={
                    "path": link,
                    "quiet_days": (now - mentorship.last_activity_at).days,
                    "last_activity_at": mentorship.last_activity_at.isoformat(),
                },
            )
    return out


def pending_answer_reminders(
    session: Session, *, now: datetime, remind_after: timedelta = REMINDER_AFTER
) -> Consequences:
    """Requests, agreement versions and proposed meetings that wait for an answer too long."""
    out = Consequences()
    cutoff = now - remind_after
    requests = session.scalars(
        select(Mentorship).where(Mentorship.stage == Stage.REQUESTED, Mentorship.requested_at <= cutoff)
    ).unique()
    for mentorship in requests:
        add_notice(
            out,
            mentorship,
            mentorship.mentor_id,
            "reminder_request",
            thing=f"reminder:request:{mentorship.id}",
            params={"message": mentorship.request_message, "since": _iso(mentorship.requested_at)},
        )
    versions = session.execute(
        select(AgreementVersion, Mentorship)
        .join(Mentorship, Mentorship.id == AgreementVersion.mentorship_id)
        .where(
            AgreementVersion.status == AgreementStatus.PENDING,
            AgreementVersion.submitted_at <= cutoff,
            Mentorship.stage.in_(_WORKING),
        )
    ).unique()
    for version, mentorship in versions:
        add_notice(
            out,
            mentorship,
            mentorship.other_side(version.author_id),
            "reminder_agreement",
            thing=f"reminder:agreement:{version.id}",
            params={
                "number": version.number,
                "since": _iso(version.submitted_at),
                "path": agreement_path(mentorship),
            },
        )
    proposed = session.execute(
        select(Meeting, Mentorship)
        .join(Mentorship, Mentorship.id == Meeting.mentorship_id)
        .where(
            Meeting.status == MeetingStatus.PROPOSED,
            Meeting.created_at <= cutoff,
            Meeting.starts_at > now,
            Mentorship.stage.in_(_WORKING),
        )
    ).unique()
    for meeting, mentorship in proposed:
        add_notice(
            out,
            mentorship,
            mentorship.other_side(meeting.proposed_by_id),
            "reminder_meeting_proposed",
            thing=f"reminder:meeting_proposed:{meeting.id}",
            params=meeting_params(meeting),
        )
    return out


def meeting_reminders(
    session: Session, *, now: datetime, lead_time: timedelta = MEETING_LEAD_TIME
) -> Consequences:
    """Confirmed meetings that start within ``lead_time``: remind both participants."""
    out = Consequences()
    upcoming = session.execute(
        select(Meeting, Mentorship)
        .join(Mentorship, Mentorship.id == Meeting.mentorship_id)
        .where(
            Meeting.status == MeetingStatus.CONFIRMED,
            Meeting.starts_at > now,
            Meeting.starts_at <= now + lead_time,
            Mentorship.stage.in_(OPEN_STAGES),
        )
    ).unique()
    found = list(upcoming)
    reminded = _reminded_before_keys_named_the_start(session, [meeting for meeting, _ in found])
    for meeting, mentorship in found:
        for user_id in (mentorship.mentee_id, mentorship.mentor_id):
            if (meeting.id, user_id, meeting.starts_at) in reminded:
                continue
            add_notice(
                out,
                mentorship,
                user_id,
                "reminder_meeting_tomorrow",
                thing=f"reminder:meeting_tomorrow:{meeting.id}:{int(meeting.starts_at.timestamp())}",
                params=meeting_params(meeting),
            )
    return out


def _reminded_before_keys_named_the_start(
    session: Session, meetings: list[Meeting]
) -> set[tuple[int, int, datetime]]:
    """(meeting, person, start) reminded under the key that named the meeting alone
    (``reminder:meeting_tomorrow:{meeting}``, before moves had their own reminder), so the
    switch sends nobody a second reminder of the same time; needless one day after it."""
    keys = {f"reminder:meeting_tomorrow:{m.id}:reminder_meeting_tomorrow": m.id for m in meetings}
    if not keys:
        return set()
    rows = session.execute(
        select(Notification.dedupe_key, Notification.user_id, Notification.params).where(
            Notification.dedupe_key.in_(keys)
        )
    )
    return {
        (keys[key], user_id, datetime.fromisoformat(params["starts_at"]))
        for key, user_id, params in rows
        if isinstance(params, dict) and isinstance(params.get("starts_at"), str)
    }


def attendance_reminders(session: Session, *, now: datetime) -> Consequences:
    """Confirmed meetings that are over: remind whoever has not confirmed participation yet."""
    out = Consequences()
    started = session.execute(
        select(Meeting, Mentorship)
        .join(Mentorship, Mentorship.id == Meeting.mentorship_id)
        .where(
            Meeting.status == MeetingStatus.CONFIRMED,
            Meeting.starts_at <= now,
            Mentorship.stage.in_(OPEN_STAGES),
        )
    ).unique()
    for meeting, mentorship in started:
        if meeting.starts_at + timedelta(minutes=meeting.duration_minutes) > now:
            continue  # still going on
        for user_id in (mentorship.mentee_id, mentorship.mentor_id):
            if meeting.attendance_of(user_id) is not None:
                continue
            add_notice(
                out,
                mentorship,
                user_id,
                "reminder_attendance",
                thing=f"reminder:attendance:{meeting.id}",
                params=meeting_params(meeting),
            )
    return out


def expirable_requests(session: Session, *, now: datetime, request_expiry: timedelta) -> list[int]:
    return list(
        session.scalars(
            select(Mentorship.id)
            .where(
                Mentorship.stage == Stage.REQUESTED,
                Mentorship.requested_at <= now - request_expiry,
            )
            .order_by(Mentorship.id)
        )
    )


def expire_request(
    session: Session, mentorship_id: int, *, now: datetime, request_expiry: timedelta
) -> Event | None:
    """Close a request nobody answered in time; ``None`` if it was answered or is not due yet."""
    mentorship = load_mentorship(session, mentorship_id, lock=True)
    if mentorship is None or mentorship.stage != Stage.REQUESTED:
        return None
    if mentorship.requested_at > now - request_expiry:
        return None
    move_stage(session, mentorship, Stage.DECLINED, now=now)
    mentorship.closing_reason = EXPIRED
    return append_event(session, mentorship, "mentorship.expired", actor_id=None, now=now)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
