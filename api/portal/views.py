"""What a portal page shows about a mentorship, and which forms it offers the reader.

Offering a form is presentation: it asks the lifecycle rules (``services.lifecycle``) whether
the reader could state that fact now, so a page does not show buttons that can only fail. The
services still decide every write; a stale page gets their refusal, shown as a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.portal.reader import Reader
from api.portal.texts import ABSENT, EVENTS, OTHER_EVENT, OWN_ABSENT, OWN_EVENTS, STAGES, label, say
from models import Event, Meeting, MeetingStatus, Mentorship, User
from services.errors import DomainError
from services.i18n import _
from services.lifecycle import Fact, require, require_meeting
from services.meetings import can_reschedule
from services.progress import WaitingFor

LIVE = (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED)
WITH_INVITE = (MeetingStatus.CONFIRMED, MeetingStatus.HELD)


def allowed_facts(mentorship: Mentorship, user_id: int) -> frozenset[Fact]:
    """The facts the rules let ``user_id`` state on this mentorship in its current stage."""
    found = set()
    for fact in Fact:
        try:
            require(fact, mentorship, user_id)
        except DomainError:
            continue
        found.add(fact)
    return frozenset(found)


def _meeting_allows(fact: Fact, meeting: Meeting, allowed: frozenset[Fact]) -> bool:
    if fact not in allowed:
        return False
    try:
        require_meeting(fact, meeting)
    except DomainError:
        return False
    return True


@dataclass(frozen=True)
class Answer:
    """One participant's attendance answer, as a page names it: ``name`` None is the reader."""

    name: str | None
    attended: bool | None


@dataclass(frozen=True)
class MeetingView:
    meeting: Meeting
    mine: bool | None  # the reader's attendance answer
    answers: tuple[Answer, Answer]  # the reader's first; for operators, mentee then mentor
    can_decide: bool
    can_cancel: bool
    can_move: bool
    can_attend: bool
    has_invite: bool


def meeting_view(
    meeting: Meeting,
    mentorship: Mentorship,
    user_id: int,
    now: datetime,
    allowed: frozenset[Fact] | None = None,
) -> MeetingView:
    allowed = allowed_facts(mentorship, user_id) if allowed is None else allowed
    mine = meeting.attendance_of(user_id)
    return MeetingView(
        meeting=meeting,
        mine=None if mine is None else mine.attended,
        answers=_answers(meeting, mentorship, user_id),
        can_decide=_meeting_allows(Fact.DECIDE_MEETING, meeting, allowed) and meeting.starts_at > now,
        can_cancel=_meeting_allows(Fact.CANCEL_MEETING, meeting, allowed) and meeting.starts_at > now,
        can_move=can_reschedule(meeting, mentorship, user_id, now=now),
        can_attend=mine is None
        and _meeting_allows(Fact.ATTENDANCE, meeting, allowed)
        and meeting.starts_at <= now,
        has_invite=meeting.status in WITH_INVITE,
    )


def _answers(meeting: Meeting, mentorship: Mentorship, reader_id: int) -> tuple[Answer, Answer]:
    def answer(person: User) -> Answer:
        given = meeting.attendance_of(person.id)
        return Answer(
            None if person.id == reader_id else person.display_name,
            None if given is None else given.attended,
        )

    mentee, mentor = answer(mentorship.mentee), answer(mentorship.mentor)
    return (mentor, mentee) if reader_id == mentorship.mentor_id else (mentee, mentor)


def split_meetings(views: list[MeetingView], now: datetime) -> tuple[list[MeetingView], list[MeetingView]]:
    """Upcoming (proposed or confirmed, not started) soonest first; the rest newest first."""
    upcoming = [v for v in views if v.meeting.status in LIVE and v.meeting.starts_at > now]
    past = [v for v in views if v not in upcoming]
    return upcoming, sorted(past, key=lambda v: v.meeting.starts_at, reverse=True)


@dataclass(frozen=True)
class NextStep:
    who: str  # "You", the other person's name, "Both of you", "mentorflow"
    what: str


def next_step(
    waiting: WaitingFor | None, mentorship: Mentorship, user: User, reader: Reader
) -> NextStep | None:
    if waiting is None:
        return None
    params = dict(waiting.params)
    if isinstance(params.get("starts_at"), str):
        params["starts_at"] = reader.when(params["starts_at"])
    if waiting.who == mentorship.side_of(user.id):
        who = say(_("You"), reader.language)
    elif waiting.who in ("mentee", "mentor"):
        who = (mentorship.mentee if waiting.who == "mentee" else mentorship.mentor).display_name
    elif waiting.who == "both":
        who = say(_("Both of you") if mentorship.side_of(user.id) else _("Both"), reader.language)
    else:
        who = "mentorflow"
    return NextStep(who, say(waiting.what, reader.language, **params))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    meeting_id: int | None


def timeline(
    events: list[Event], mentorship: Mentorship, viewer_id: int, reader: Reader
) -> list[TimelineEntry]:
    """The mentorship's event log, newest first, in words: the reader's own acts in the second
    person, the others' by name (so every language's grammar holds). Each draft shows once (its
    last save), and the other side's drafts stay private."""
    names = {
        mentorship.mentee_id: mentorship.mentee.display_name,
        mentorship.mentor_id: mentorship.mentor.display_name,
    }
    entries = []
    for event in _shown(events, viewer_id):
        payload = event.payload
        actor = names.get(event.actor_id or 0, "")
        message = _words(event, own=event.actor_id == viewer_id)
        params = {
            "actor": actor,
            "number": payload.get("number", ""),
            "starts_at": reader.when(payload["starts_at"]) if payload.get("starts_at") else "",
            "stage": label(STAGES, str(payload.get("to", "")), reader.language),
        }
        meeting_id = payload.get("meeting_id")
        entries.append(
            TimelineEntry(
                event.occurred_at,
                say(message, reader.language, **params),
                meeting_id if isinstance(meeting_id, int) else None,
            )
        )
    return entries


def _shown(events: list[Event], viewer_id: int) -> list[Event]:
    """The events a reader sees, newest first: of a draft's saves only the last ("Save draft",
    then "Save and submit" saves it twice), and none of the other side's drafts."""
    seen_drafts: set[object] = set()
    shown = []
    for event in reversed(events):
        if event.type == "agreement.draft_saved":
            number = event.payload.get("number")
            if event.actor_id != viewer_id or number in seen_drafts:
                continue
            seen_drafts.add(number)
        shown.append(event)
    return shown


def _words(event: Event, *, own: bool) -> str:
    """The message id of ``event``, in the second person when the reader did it."""
    absent = event.type == "meeting.attendance" and not event.payload.get("attended", True)
    if own:
        return OWN_ABSENT if absent else OWN_EVENTS.get(event.type, EVENTS.get(event.type, OTHER_EVENT))
    return ABSENT if absent else EVENTS.get(event.type, OTHER_EVENT)
