"""Meetings: the mentee proposes, the mentor confirms, both confirm they took part, feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Attendance, Feedback, Meeting, MeetingStatus, Mentorship, User
from services.access import check_version, meeting_to_act_on, mentorship_to_act_on
from services.errors import Conflict, DomainError, Invalid
from services.events import append_event
from services.i18n import _
from services.lifecycle import Fact, has_approved_agreement, require, require_meeting
from services.time_bounds import check_meeting_start

LIVE_STATUSES = (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED)


@dataclass(frozen=True)
class MeetingPlan:
    starts_at: datetime
    duration_minutes: int
    mode: str
    location: str = ""
    agenda: str = ""
    topics: tuple[str, ...] = ()
    is_final: bool = False


def propose(
    session: Session, actor: User, mentorship_id: int, plan: MeetingPlan, *, now: datetime
) -> Meeting:
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    require(Fact.PROPOSE_MEETING, mentorship, actor.id)
    starts_at = check_meeting_start(plan.starts_at, now=now)
    if starts_at <= now:
        raise Conflict(_("A meeting must start in the future."))
    if plan.is_final:
        _require_final_allowed(session, mentorship_id)
    meeting = Meeting(
        mentorship_id=mentorship_id,
        status=MeetingStatus.PROPOSED,
        is_intro=_is_first_meeting(session, mentorship_id),
        is_final=plan.is_final,
        starts_at=starts_at,
        duration_minutes=plan.duration_minutes,
        mode=plan.mode,
        location=plan.location,
        agenda=plan.agenda,
        topics=list(plan.topics),
        proposed_by_id=actor.id,
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    append_event(
        session,
        mentorship,
        "meeting.proposed",
        actor_id=actor.id,
        now=now,
        payload={**as_planned(meeting), "is_intro": meeting.is_intro, "is_final": plan.is_final},
    )
    return meeting


def as_planned(meeting: Meeting) -> dict[str, Any]:
    """What a meeting event says the meeting is at that moment (its time, place and
    ``version``): mails and calendar files describe their event with it, not the meeting as a
    quick later move left it."""
    return {
        "meeting_id": meeting.id,
        "starts_at": meeting.starts_at.isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "mode": meeting.mode,
        "location": meeting.location,
        "version": meeting.version,
    }


@dataclass(frozen=True)
class NextProposal:
    """What the next proposed meeting of a pair would be, for the form that proposes it."""

    is_intro: bool  # the get-to-know-you meeting
    final_allowed: bool  # an agreement is approved and no final meeting is planned


def next_proposal(session: Session, mentorship_id: int) -> NextProposal:
    try:
        _require_final_allowed(session, mentorship_id)
    except Conflict:
        final_allowed = False
    else:
        final_allowed = True
    return NextProposal(_is_first_meeting(session, mentorship_id), final_allowed)


def _require_final_allowed(session: Session, mentorship_id: int) -> None:
    if not has_approved_agreement(session, mentorship_id):
        raise Conflict(_("A final meeting needs an approved agreement first."))
    open_final = session.scalar(
        select(Meeting.id).where(
            Meeting.mentorship_id == mentorship_id,
            Meeting.is_final.is_(True),
            Meeting.status.in_(LIVE_STATUSES),
        )
    )
    if open_final is not None:
        raise Conflict(_("A final meeting is already planned."))


def _is_first_meeting(session: Session, mentorship_id: int) -> bool:
    earlier = session.scalar(
        select(Meeting.id)
        .where(
            Meeting.mentorship_id == mentorship_id,
            Meeting.status.in_([*LIVE_STATUSES, MeetingStatus.HELD]),
        )
        .limit(1)
    )
    return earlier is None


def _acting_on(
    session: Session, actor: User, meeting_id: int, fact: Fact, expected_version: int | None
) -> tuple[Meeting, Mentorship]:
    meeting, mentorship = meeting_to_act_on(session, meeting_id, actor)
    require(fact, mentorship, actor.id)
    check_version(meeting.version, expected_version)
    require_meeting(fact, meeting)
    return meeting, mentorship


def confirm(
    session: Session,
    actor: User,
    meeting_id: int,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Meeting:
    meeting, mentorship = _acting_on(session, actor, meeting_id, Fact.DECIDE_MEETING, expected_version)
    if meeting.starts_at <= now:
        raise Conflict(_("This meeting's time has passed; ask for a new proposal."))
    _set_status(meeting, MeetingStatus.CONFIRMED, now=now)
    append_event(
        session,
        mentorship,
        "meeting.confirmed",
        actor_id=actor.id,
        now=now,
        payload=as_planned(meeting),
    )
    return meeting


def decline(
    session: Session,
    actor: User,
    meeting_id: int,
    *,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Meeting:
    """The mentor says no to a proposed meeting."""
    return _call_off(
        session,
        actor,
        meeting_id,
        Fact.DECIDE_MEETING,
        MeetingStatus.DECLINED,
        reason=reason,
        now=now,
        expected_version=expected_version,
    )


def cancel(
    session: Session,
    actor: User,
    meeting_id: int,
    *,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Meeting:
    """Either side calls off a meeting that has not started yet; once it has, each side says
    whether they took part instead (a meeting nobody attended ends as missed)."""
    return _call_off(
        session,
        actor,
        meeting_id,
        Fact.CANCEL_MEETING,
        MeetingStatus.CANCELLED,
        reason=reason,
        now=now,
        expected_version=expected_version,
    )


def _call_off(
    session: Session,
    actor: User,
    meeting_id: int,
    fact: Fact,
    status: MeetingStatus,
    *,
    reason: str,
    now: datetime,
    expected_version: int | None,
) -> Meeting:
    meeting, mentorship = _acting_on(session, actor, meeting_id, fact, expected_version)
    if fact is Fact.CANCEL_MEETING and meeting.starts_at <= now:
        raise Conflict(_("This meeting has started: say whether you took part instead of cancelling it."))
    _set_status(meeting, status, now=now, reason=reason)
    append_event(
        session,
        mentorship,
        f"meeting.{status.value}",
        actor_id=actor.id,
        now=now,
        payload={**as_planned(meeting), "reason": reason},
    )
    return meeting


@dataclass(frozen=True)
class MeetingMove:
    """A new time and/or place for a meeting; ``None`` keeps what the meeting has."""

    starts_at: datetime | None = None
    duration_minutes: int | None = None
    mode: str | None = None
    location: str | None = None


def reschedule(
    session: Session,
    actor: User,
    meeting_id: int,
    move: MeetingMove,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Meeting:
    """Either side moves a meeting that has not started to a new time and/or place.

    The mentor confirms meetings, so a moved meeting waits for the mentor again (``proposed``),
    unless the mentor moved it: their move is their confirmation (``confirmed``); the mentee is
    told, and may move it again or cancel it.
    """
    if move == MeetingMove():
        raise Invalid(_("Give a new time, duration, way of meeting or place."), loc=("body",))
    meeting, mentorship = _acting_on(session, actor, meeting_id, Fact.RESCHEDULE_MEETING, expected_version)
    if meeting.starts_at <= now:
        raise Conflict(_("This meeting has started; it can no longer be moved."))
    starts_at = meeting.starts_at if move.starts_at is None else check_meeting_start(move.starts_at, now=now)
    if starts_at <= now:
        raise Conflict(_("A meeting must start in the future."))
    after = (
        starts_at,
        meeting.duration_minutes if move.duration_minutes is None else move.duration_minutes,
        meeting.mode if move.mode is None else move.mode,
        meeting.location if move.location is None else move.location,
    )
    before = (meeting.starts_at, meeting.duration_minutes, meeting.mode, meeting.location)
    if after == before:
        raise Conflict(_("The meeting already has this time and place."))
    meeting.starts_at, meeting.duration_minutes, meeting.mode, meeting.location = after
    meeting.proposed_by_id = actor.id
    by_mentor = mentorship.side_of(actor.id) == "mentor"
    status = MeetingStatus.CONFIRMED if by_mentor else MeetingStatus.PROPOSED
    meeting.status = status
    meeting.decided_at = now if by_mentor else None
    meeting.version += 1
    append_event(
        session,
        mentorship,
        "meeting.rescheduled",
        actor_id=actor.id,
        now=now,
        payload={**as_planned(meeting), "previous_starts_at": before[0].isoformat(), "status": status.value},
    )
    return meeting


def can_reschedule(meeting: Meeting, mentorship: Mentorship, user_id: int, *, now: datetime) -> bool:
    """Whether ``user_id`` may move the meeting now (the portal offers the form on this)."""
    try:
        require(Fact.RESCHEDULE_MEETING, mentorship, user_id)
        require_meeting(Fact.RESCHEDULE_MEETING, meeting)
    except DomainError:
        return False
    return meeting.starts_at > now


def _set_status(meeting: Meeting, status: MeetingStatus, *, now: datetime, reason: str | None = None) -> None:
    meeting.status = status
    meeting.decided_at = now
    if reason is not None:
        meeting.reason = reason
    meeting.version += 1


def record_attendance(
    session: Session,
    actor: User,
    meeting_id: int,
    *,
    attended: bool,
    now: datetime,
    expected_version: int | None = None,
) -> Meeting:
    """Each participant says whether they took part; both yes makes the meeting held.

    Saying the same again changes nothing; changing one's answer is refused.
    """
    meeting, mentorship = meeting_to_act_on(session, meeting_id, actor)
    require(Fact.ATTENDANCE, mentorship, actor.id)
    check_version(meeting.version, expected_version)
    own = meeting.attendance_of(actor.id)
    if own is not None:
        if own.attended != attended:
            raise Conflict(_("You already answered for this meeting."))
        return meeting
    require_meeting(Fact.ATTENDANCE, meeting)
    if now < meeting.starts_at:
        raise Conflict(_("You can confirm participation once the meeting has started."))
    meeting.attendances.append(Attendance(user_id=actor.id, attended=attended, answered_at=now))
    meeting.version += 1
    session.flush()
    append_event(
        session,
        mentorship,
        "meeting.attendance",
        actor_id=actor.id,
        now=now,
        payload={"meeting_id": meeting.id, "attended": attended},
    )
    if len(meeting.attendances) == 2:
        _settle(session, meeting, mentorship, now=now)
    return meeting


def _settle(session: Session, meeting: Meeting, mentorship: Mentorship, *, now: datetime) -> None:
    if all(a.attended for a in meeting.attendances):
        meeting.status = MeetingStatus.HELD
        meeting.held_at = now
        append_event(
            session,
            mentorship,
            "meeting.held",
            actor_id=None,
            now=now,
            payload={
                "meeting_id": meeting.id,
                "is_intro": meeting.is_intro,
                "is_final": meeting.is_final,
                "held_count": held_count(session, mentorship.id),
            },
        )
    else:
        meeting.status = MeetingStatus.MISSED
        append_event(
            session, mentorship, "meeting.missed", actor_id=None, now=now, payload={"meeting_id": meeting.id}
        )
    session.flush()


def held_count(session: Session, mentorship_id: int) -> int:
    session.flush()
    return (
        session.scalar(
            select(func.count()).where(
                Meeting.mentorship_id == mentorship_id, Meeting.status == MeetingStatus.HELD
            )
        )
        or 0
    )


def give_feedback(
    session: Session, actor: User, meeting_id: int, *, rating: int, comment: str, now: datetime
) -> Feedback:
    meeting, mentorship = meeting_to_act_on(session, meeting_id, actor)
    require(Fact.FEEDBACK, mentorship, actor.id)
    own = meeting.attendance_of(actor.id)
    if own is None or not own.attended:
        raise Conflict(_("Feedback comes after you confirmed that you took part."))
    feedback = Feedback(
        mentorship_id=mentorship.id,
        meeting_id=meeting.id,
        author_id=actor.id,
        rating=rating,
        comment=comment,
        created_at=now,
    )
    session.add(feedback)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("You already gave feedback on this meeting.")) from None
    append_event(
        session,
        mentorship,
        "feedback.given",
        actor_id=actor.id,
        now=now,
        payload={"feedback_id": feedback.id, "meeting_id": meeting.id},  # that it was given, not what
    )
    return feedback


def feedback_on_mentorship(
    session: Session, actor: User, mentorship_id: int, *, rating: int, comment: str, now: datetime
) -> Feedback:
    """Feedback on the mentorship as a whole, e.g. answering an inactivity feedback request."""
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    require(Fact.FEEDBACK, mentorship, actor.id)
    feedback = Feedback(
        mentorship_id=mentorship.id,
        meeting_id=None,
        author_id=actor.id,
        rating=rating,
        comment=comment,
        created_at=now,
    )
    session.add(feedback)
    session.flush()
    append_event(
        session,
        mentorship,
        "feedback.given",
        actor_id=actor.id,
        now=now,
        payload={"feedback_id": feedback.id, "meeting_id": None},
    )
    return feedback


def meetings_of(session: Session, mentorship_id: int) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.mentorship_id == mentorship_id)
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )


def feedback_of(session: Session, meeting_id: int) -> list[Feedback]:
    return list(
        session.scalars(select(Feedback).where(Feedback.meeting_id == meeting_id).order_by(Feedback.id))
    )
