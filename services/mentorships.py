"""Requests and the decisions people make about a mentorship as a whole."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import OPEN_STAGES, Mentorship, Role, Stage, User
from services.access import check_version, mentorship_to_act_on
from services.errors import Conflict, Invalid
from services.events import append_event
from services.i18n import _
from services.lifecycle import Fact, decide_stage, require
from services.users import free_capacity, require_role


def request_mentorship(
    session: Session, mentee: User, *, mentor_id: int, message: str, now: datetime
) -> Mentorship:
    require_role(mentee, Role.MENTEE)
    if mentor_id == mentee.id:
        raise Conflict(_("You cannot be your own mentor."))
    # Lock the mentor's row: requests to one mentor queue up, so capacity holds under load.
    mentor = session.scalar(select(User).where(User.id == mentor_id).with_for_update(of=User))
    if mentor is None or not mentor.has_role(Role.MENTOR):
        raise Invalid(_("There is no mentor with id {id}."), id=mentor_id, loc=("body", "mentor_id"))
    if _open_between(session, mentee.id, mentor_id) is not None:
        raise Conflict(_("You already have an open request or mentorship with this mentor."))
    if free_capacity(session, mentor) <= 0:
        raise Conflict(_("This mentor has no free capacity right now."))
    mentorship = Mentorship(
        mentee_id=mentee.id,
        mentor_id=mentor_id,
        stage=Stage.REQUESTED,
        request_message=message,
        requested_at=now,
        last_activity_at=now,
    )
    session.add(mentorship)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("You already have an open request or mentorship with this mentor.")) from None
    append_event(
        session,
        mentorship,
        "mentorship.requested",
        actor_id=mentee.id,
        now=now,
        payload={"message": message},
    )
    return mentorship


def _open_between(session: Session, mentee_id: int, mentor_id: int) -> int | None:
    return session.scalar(
        select(Mentorship.id).where(
            Mentorship.mentee_id == mentee_id,
            Mentorship.mentor_id == mentor_id,
            Mentorship.stage.in_(OPEN_STAGES),
        )
    )


_DECISION_EVENTS = {
    Fact.ACCEPT: "mentorship.accepted",
    Fact.DECLINE: "mentorship.declined",
    Fact.WITHDRAW: "mentorship.withdrawn",
    Fact.END: "mentorship.ended",
}


OTHER = "other"
#: Why a mentorship ends early: a short list operators can count (CONTRACT: ``reason_code``).
END_REASONS = ("goals_reached", "no_time", "not_a_fit", OTHER)


def decide(
    session: Session,
    actor: User,
    mentorship_id: int,
    fact: Fact,
    *,
    now: datetime,
    reason: str | None = None,
    reason_code: str | None = None,
    message: str | None = None,
    expected_version: int | None = None,
) -> Mentorship:
    """Accept, decline, withdraw or end: the stage changes in this same request. An early
    end says why from ``END_REASONS`` (``other`` if none is given), with optional words; an
    acceptance may carry the mentor's ``message`` to the mentee."""
    if fact is Fact.END and (reason_code or OTHER) not in END_REASONS:
        raise Invalid(_("Choose why the mentorship ends."), loc=("body", "reason_code"))
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    check_version(mentorship.version, expected_version)
    require(fact, mentorship, actor.id)
    decide_stage(session, mentorship, fact, now=now)
    payload: dict[str, object] = {}
    if reason is not None:
        mentorship.closing_reason = reason
        payload["reason"] = reason
    if fact is Fact.END:
        mentorship.closing_code = payload["reason_code"] = reason_code or OTHER
    if fact is Fact.ACCEPT and message:
        mentorship.acceptance_message = payload["message"] = message
    append_event(session, mentorship, _DECISION_EVENTS[fact], actor_id=actor.id, now=now, payload=payload)
    return mentorship


def mentorships_of(session: Session, user: User) -> list[Mentorship]:
    return list(
        session.scalars(
            select(Mentorship)
            .where(or_(Mentorship.mentee_id == user.id, Mentorship.mentor_id == user.id))
            .order_by(Mentorship.id.desc())
        ).unique()
    )
