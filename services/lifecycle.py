"""The lifecycle rules in one place: which fact is allowed in which state, for whom.

Every write in ``services/`` asks this module first (``require``, ``require_meeting``,
``require_agreement``) and moves stages only through ``move_stage``. The API, the portal,
the flows and the tests all go through here, so a rule is stated exactly once.

Stages::

    requested ─accept→ intro ─first agreement approved→ active ─final meeting held→ closing
        │ decline/withdraw/expire      │ end                 │ end                  │
        ▼                              ▼                     ▼                      ▼ certificates
    declined / withdrawn             ended                 ended                completed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AgreementStatus,
    AgreementVersion,
    Certificate,
    Meeting,
    MeetingStatus,
    Mentorship,
    Stage,
)
from services.access import load_mentorship
from services.errors import Conflict, NotFound
from services.events import append_event
from services.i18n import Term, _


class Fact(StrEnum):
    """What a person states; the values are the words messages use for it (translatable)."""

    ACCEPT = _("accept the request")
    DECLINE = _("decline the request")
    WITHDRAW = _("withdraw the request")
    END = _("end the mentorship")
    SAVE_AGREEMENT = _("write the agreement")
    SUBMIT_AGREEMENT = _("submit the agreement")
    DECIDE_AGREEMENT = _("approve or reject the agreement")
    PROPOSE_MEETING = _("propose a meeting")
    DECIDE_MEETING = _("confirm or decline a meeting")
    CANCEL_MEETING = _("cancel a meeting")
    RESCHEDULE_MEETING = _("move a meeting")
    ATTENDANCE = _("confirm participation")
    FEEDBACK = _("give feedback")


class Who(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    EITHER = "either"


@dataclass(frozen=True)
class Rule:
    who: Who
    stages: frozenset[Stage]


_WORKING = frozenset({Stage.INTRO, Stage.ACTIVE})

# The words that fill {who}, {stage} and {status} in the messages below: the values of
# ``Who``, ``Stage``, ``MeetingStatus`` and ``AgreementStatus``, marked here for extraction and
# passed as ``Term`` so that they are translated with the message.
PLACEHOLDER_WORDS = (
    _("mentee"),
    _("mentor"),
    _("requested"),
    _("intro"),
    _("active"),
    _("closing"),
    _("completed"),
    _("declined"),
    _("withdrawn"),
    _("ended"),
    _("proposed"),
    _("confirmed"),
    _("cancelled"),
    _("held"),
    _("missed"),
    _("draft"),
    _("pending"),
    _("approved"),
    _("rejected"),
    _("superseded"),
)


POLICY: dict[Fact, Rule] = {
    Fact.ACCEPT: Rule(Who.MENTOR, frozenset({Stage.REQUESTED})),
    Fact.DECLINE: Rule(Who.MENTOR, frozenset({Stage.REQUESTED})),
    Fact.WITHDRAW: Rule(Who.MENTEE, frozenset({Stage.REQUESTED})),
    Fact.END: Rule(Who.EITHER, _WORKING),
    # Before the first approval only the mentee writes; amendments may come from either side
    # (checked in ``services.agreements``, which knows whether a version was approved).
    Fact.SAVE_AGREEMENT: Rule(Who.EITHER, _WORKING),
    Fact.SUBMIT_AGREEMENT: Rule(Who.EITHER, _WORKING),
    Fact.DECIDE_AGREEMENT: Rule(Who.EITHER, _WORKING),
    Fact.PROPOSE_MEETING: Rule(Who.MENTEE, _WORKING),
    Fact.DECIDE_MEETING: Rule(Who.MENTOR, _WORKING),
    Fact.CANCEL_MEETING: Rule(Who.EITHER, _WORKING),
    # A moved meeting waits for the mentor's confirmation again; the mentor's own move is that
    # confirmation (``services.meetings.reschedule``).
    Fact.RESCHEDULE_MEETING: Rule(Who.EITHER, _WORKING),
    Fact.ATTENDANCE: Rule(Who.EITHER, _WORKING | {Stage.CLOSING}),
    Fact.FEEDBACK: Rule(Who.EITHER, _WORKING | {Stage.CLOSING, Stage.COMPLETED}),
}

# The meeting's own little state machine: which statuses a fact may start from.
MEETING_FROM: dict[Fact, frozenset[MeetingStatus]] = {
    Fact.DECIDE_MEETING: frozenset({MeetingStatus.PROPOSED}),
    Fact.CANCEL_MEETING: frozenset({MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED}),
    Fact.RESCHEDULE_MEETING: frozenset({MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED}),
    Fact.ATTENDANCE: frozenset({MeetingStatus.CONFIRMED}),
}

# Stage moves, by whom they are made: people decide some, the lifecycle flow the others.
DECIDED_MOVES: dict[Fact, Stage] = {
    Fact.ACCEPT: Stage.INTRO,
    Fact.DECLINE: Stage.DECLINED,
    Fact.WITHDRAW: Stage.WITHDRAWN,
    Fact.END: Stage.ENDED,
}
FOLLOWING_MOVES: dict[Stage, Stage] = {
    Stage.INTRO: Stage.ACTIVE,  # first agreement approved
    Stage.ACTIVE: Stage.CLOSING,  # final meeting held
    Stage.CLOSING: Stage.COMPLETED,  # certificates issued
}


def require(fact: Fact, mentorship: Mentorship, actor_id: int) -> str:
    """Check that ``actor_id`` may state ``fact`` now; returns the actor's side."""
    rule = POLICY[fact]
    side = mentorship.side_of(actor_id)
    if side is None:
        raise NotFound(_("No such mentorship."))
    if rule.who is not Who.EITHER and side != rule.who.value:
        raise Conflict(_("Only the {who} can {action}."), who=Term(rule.who), action=Term(fact))
    if mentorship.stage not in rule.stages:
        raise Conflict(
            _("You cannot {action} while the mentorship is {stage}."),
            action=Term(fact),
            stage=Term(mentorship.stage),
        )
    return side


def require_meeting(fact: Fact, meeting: Meeting) -> None:
    if meeting.status not in MEETING_FROM[fact]:
        raise Conflict(
            _("You cannot {action}: this meeting is {status}."),
            action=Term(fact),
            status=Term(meeting.status),
        )


def require_pending(version: AgreementVersion | None, number: int) -> AgreementVersion:
    if version is None:
        raise Conflict(_("Agreement v{number} does not exist."), number=number)
    if version.status != AgreementStatus.PENDING:
        raise Conflict(
            _("Agreement v{number} is {status}, not waiting for approval."),
            number=number,
            status=Term(version.status),
        )
    return version


def decide_stage(session: Session, mentorship: Mentorship, fact: Fact, *, now: datetime) -> None:
    """Apply a stage a person decides (accept, decline, withdraw, end) in their request."""
    move_stage(session, mentorship, DECIDED_MOVES[fact], now=now)


def move_stage(session: Session, mentorship: Mentorship, to: Stage, *, now: datetime) -> None:
    before = mentorship.stage
    mentorship.stage = to
    if to == Stage.INTRO:
        mentorship.accepted_at = now
    elif to == Stage.ACTIVE:
        mentorship.activated_at = now
    elif to in (Stage.COMPLETED, Stage.DECLINED, Stage.WITHDRAWN, Stage.ENDED):
        mentorship.finished_at = now
    if to in FOLLOWING_MOVES.values():
        append_event(
            session,
            mentorship,
            "stage.changed",
            actor_id=None,
            now=now,
            payload={"from": before, "to": to.value},
        )


# --- stage moves that follow from facts, made by the lifecycle flow -------------------------


def _lock(session: Session, mentorship_id: int) -> Mentorship:
    mentorship = load_mentorship(session, mentorship_id, lock=True)
    if mentorship is None:
        raise NotFound(_("No such mentorship."))
    return mentorship


def has_approved_agreement(session: Session, mentorship_id: int) -> bool:
    found = session.scalar(
        select(AgreementVersion.id)
        .where(
            AgreementVersion.mentorship_id == mentorship_id,
            AgreementVersion.status == AgreementStatus.APPROVED,
        )
        .limit(1)
    )
    return found is not None


def final_meeting_held(session: Session, mentorship_id: int) -> bool:
    found = session.scalar(
        select(Meeting.id)
        .where(
            Meeting.mentorship_id == mentorship_id,
            Meeting.is_final.is_(True),
            Meeting.status == MeetingStatus.HELD,
        )
        .limit(1)
    )
    return found is not None


def activate(session: Session, mentorship_id: int, *, now: datetime) -> bool:
    """intro → active once an agreement was approved. Idempotent; returns whether it moved."""
    mentorship = _lock(session, mentorship_id)
    if mentorship.stage != Stage.INTRO or not has_approved_agreement(session, mentorship_id):
        return False
    move_stage(session, mentorship, Stage.ACTIVE, now=now)
    return True


def begin_closing(session: Session, mentorship_id: int, *, now: datetime) -> bool:
    """active → closing once the final meeting was held. Idempotent."""
    mentorship = _lock(session, mentorship_id)
    if mentorship.stage != Stage.ACTIVE or not final_meeting_held(session, mentorship_id):
        return False
    move_stage(session, mentorship, Stage.CLOSING, now=now)
    return True


def complete(session: Session, mentorship_id: int, *, now: datetime) -> bool:
    """closing → completed once both participants hold a certificate. Idempotent."""
    mentorship = _lock(session, mentorship_id)
    if mentorship.stage != Stage.CLOSING:
        return False
    holders = set(
        session.scalars(select(Certificate.user_id).where(Certificate.mentorship_id == mentorship_id))
    )
    if holders != {mentorship.mentee_id, mentorship.mentor_id}:
        return False
    move_stage(session, mentorship, Stage.COMPLETED, now=now)
    return True


def move_due(session: Session, mentorship: Mentorship) -> bool:
    """Whether the facts call for the flow's next stage move (``FOLLOWING_MOVES``) now."""
    if mentorship.stage == Stage.INTRO:
        return has_approved_agreement(session, mentorship.id)
    if mentorship.stage == Stage.ACTIVE:
        return final_meeting_held(session, mentorship.id)
    return mentorship.stage == Stage.CLOSING


def moves_due(session: Session, mentorships: list[Mentorship]) -> set[int]:
    """The ids of those of ``mentorships`` whose next move is due (``move_due`` for each), in
    two queries: the reconciler asks this of every live mentorship on every tick, and one
    query each took 30 s at 10,000 (BENCHMARKS.md, "Idle")."""
    wanted = {m.id: m.stage for m in mentorships}
    approved = (
        select(AgreementVersion.mentorship_id)
        .join(Mentorship)
        .where(Mentorship.stage == Stage.INTRO, AgreementVersion.status == AgreementStatus.APPROVED)
    )
    final_held = (
        select(Meeting.mentorship_id)
        .join(Mentorship)
        .where(
            Mentorship.stage == Stage.ACTIVE, Meeting.is_final.is_(True), Meeting.status == MeetingStatus.HELD
        )
    )
    due = {i for i, stage in wanted.items() if stage == Stage.CLOSING}
    if Stage.INTRO in wanted.values():
        due |= {i for i in session.scalars(approved) if wanted.get(i) == Stage.INTRO}
    if Stage.ACTIVE in wanted.values():
        due |= {i for i in session.scalars(final_held) if wanted.get(i) == Stage.ACTIVE}
    return due
