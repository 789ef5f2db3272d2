"""What follows from an event: who is notified, what is earned, which mails go out.

``decide`` reads; ``record`` writes notifications and achievements once per dedupe key and
returns the mails still missing from the outbox. Rendering and enqueueing those mails is
presentation and lives in ``tasks.mail``; ``apply`` is the whole step for one event.

Dedupe keys (unique per user for notifications and achievements, globally for mail)::

    notification / achievement   event:{event_id}:{kind}
    milestone                    milestone:{mentorship_id}:{kind}
    mail                         event:{event_id}:{user_id}:{kind}

so re-delivering an event writes nothing new. The rules per event type are in ``RULES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Achievement,
    AgreementStatus,
    AgreementVersion,
    Event,
    Meeting,
    MeetingStatus,
    Mentorship,
    Notification,
    Stage,
    Survey,
)
from services.events import events_of
from services.feedback_links import feedback_path
from services.outbox import email_exists
from services.surveys import own_answer

FIVE_MEETINGS = 5
#: What a meeting event records of the meeting's time and place (``services.meetings.as_planned``).
_AS_PLANNED = ("starts_at", "duration_minutes", "mode", "location")
#: The status each meeting event leaves the meeting in (a move's is in its payload).
_STATUS_AFTER = {
    "meeting.proposed": MeetingStatus.PROPOSED.value,
    "meeting.confirmed": MeetingStatus.CONFIRMED.value,
    "meeting.cancelled": MeetingStatus.CANCELLED.value,
    "meeting.declined": MeetingStatus.DECLINED.value,
}

#: Achievement kinds that mark a step a mentorship reached (once per mentorship), in the order
#: a pair reaches them; every other kind records one activity.
MILESTONES = ("first_meeting_held", "five_meetings_held", "agreement_kept_to_plan")
#: The activity kinds in the order of the journey (for grouped views).
ACTIVITIES = (
    "request_sent",
    "request_accepted",
    "agreement_submitted",
    "agreement_approved",
    "meeting_proposed",
    "meeting_held",
    "feedback_given",
    "mentorship_completed",
    "certificate_issued",
)


@dataclass(frozen=True)
class NotificationSpec:
    user_id: int
    mentorship_id: int | None
    kind: str
    dedupe_key: str
    params: dict[str, Any]


@dataclass(frozen=True)
class AchievementSpec:
    user_id: int
    mentorship_id: int | None
    kind: str
    dedupe_key: str
    params: dict[str, Any]
    earned_at: datetime


@dataclass(frozen=True)
class MailSpec:
    """A mail to render: ``params`` are JSON values (ids, names, ISO timestamps, a ``path``)."""

    user_id: int
    mentorship_id: int | None
    kind: str
    dedupe_key: str
    params: dict[str, Any]
    invite: bool = False  # attach the meeting's calendar file (``params["meeting_id"]``)


@dataclass
class Consequences:
    notifications: list[NotificationSpec] = field(default_factory=list)
    achievements: list[AchievementSpec] = field(default_factory=list)
    mails: list[MailSpec] = field(default_factory=list)


# --- building blocks (shared with services.sweeps) ----------------------------------------------


def participant_params(mentorship: Mentorship, user_id: int) -> dict[str, Any]:
    """What every message about a mentorship may mention, seen from ``user_id``'s side."""
    m = mentorship
    other = m.mentor if user_id == m.mentee_id else m.mentee
    return {
        "mentorship_id": m.id,
        "mentee_name": m.mentee.display_name,
        "mentor_name": m.mentor.display_name,
        "other_name": other.display_name,
        "role": m.side_of(user_id),
        "path": f"/portal/mentorships/{m.id}",
    }


def agreement_path(mentorship: Mentorship) -> str:
    return f"/portal/mentorships/{mentorship.id}/agreement"


def survey_path(mentorship: Mentorship) -> str:
    """Where the portal asks a participant the fit question or the closure survey."""
    return f"/portal/mentorships/{mentorship.id}#survey"


def meeting_params(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": meeting.id,
        "starts_at": meeting.starts_at.isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "mode": meeting.mode,
        "location": meeting.location,
        "agenda": meeting.agenda,
        "topics": list(meeting.topics),
        "is_intro": meeting.is_intro,
        "is_final": meeting.is_final,
        "path": f"/portal/meetings/{meeting.id}",
    }


def add_notice(
    out: Consequences,
    mentorship: Mentorship,
    user_id: int,
    kind: str,
    *,
    thing: str,
    params: dict[str, Any],
    notify: bool = True,
    mail: bool = True,
    invite: bool = False,
) -> None:
    """Tell ``user_id`` about ``thing`` (a stable key such as ``event:42``): in-app and/or mail.

    Keys: notification ``{thing}:{kind}`` (unique per user), mail ``{thing}:{user_id}:{kind}``.
    """
    params = {**participant_params(mentorship, user_id), **params}
    if notify:
        key = f"{thing}:{kind}"
        out.notifications.append(NotificationSpec(user_id, mentorship.id, kind, key, params))
    if mail:
        key = f"{thing}:{user_id}:{kind}"
        out.mails.append(MailSpec(user_id, mentorship.id, kind, key, params, invite=invite))


# --- deciding -----------------------------------------------------------------------------------


@dataclass
class _Decision:
    session: Session
    event: Event
    mentorship: Mentorship
    secret_key: str
    out: Consequences = field(default_factory=Consequences)

    @property
    def payload(self) -> dict[str, Any]:
        return self.event.payload

    @property
    def both(self) -> tuple[int, int]:
        return (self.mentorship.mentee_id, self.mentorship.mentor_id)

    def others(self) -> tuple[int, ...]:
        """Who did not state the fact: the other side, or both for system events."""
        actor = self.event.actor_id
        if actor is None or self.mentorship.side_of(actor) is None:
            return self.both
        return (self.mentorship.other_side(actor),)

    def notify(
        self, user_id: int, kind: str, *, mail: bool = True, invite: bool = False, **params: Any
    ) -> None:
        """An in-app notification and (by default) the same news by mail, with the meeting's
        calendar file attached if ``invite``."""
        thing = f"event:{self.event.id}"
        add_notice(
            self.out, self.mentorship, user_id, kind, thing=thing, params=params, mail=mail, invite=invite
        )

    def mail(self, user_id: int, kind: str, *, invite: bool = False, **params: Any) -> None:
        thing = f"event:{self.event.id}"
        add_notice(
            self.out, self.mentorship, user_id, kind, thing=thing, params=params, notify=False, invite=invite
        )

    def achieve(self, user_id: int, kind: str, **params: Any) -> None:
        self._earn(user_id, kind, f"event:{self.event.id}:{kind}", params)

    def milestone(self, user_id: int, kind: str, **params: Any) -> None:
        self._earn(user_id, kind, f"milestone:{self.mentorship.id}:{kind}", params)

    def _earn(self, user_id: int, kind: str, key: str, params: dict[str, Any]) -> None:
        params = {"mentorship_id": self.mentorship.id, "event_id": self.event.id, **params}
        self.out.achievements.append(
            AchievementSpec(user_id, self.mentorship.id, kind, key, params, self.event.occurred_at)
        )

    def ask_survey(self, survey: Literal["fit", "closure"], kind: str) -> None:
        """Ask both sides: a notification that opens the mentorship page, and a mail whose
        link opens the survey signed for that participant (no sign-in needed). Whoever
        answered already (a quick one, before this was handled) is not asked again."""
        m = self.mentorship
        for user_id in self.both:
            if own_answer(self.session, m.id, user_id, Survey(survey)) is not None:
                continue
            link = feedback_path(
                self.secret_key,
                target=survey,
                target_id=m.id,
                user_id=user_id,
                requested_at=self.event.occurred_at,
            )
            self.notify(user_id, kind, mail=False, path=survey_path(m))
            self.mail(user_id, kind, path=link)

    def meeting_params(self) -> dict[str, Any]:
        """The meeting as this event left it: its time, place, status and version from the
        event (``services.meetings.as_planned``), the rest from the meeting. A move right
        after the event is not this mail's news but its own."""
        meeting = self.session.get(Meeting, self.payload["meeting_id"])
        params = {"meeting_id": self.payload["meeting_id"]} if meeting is None else meeting_params(meeting)
        params.update({k: self.payload[k] for k in _AS_PLANNED if k in self.payload})
        status = _STATUS_AFTER.get(self.event.type) or self.payload.get("status")
        if status:
            params["meeting_status"] = status
        if "version" in self.payload:
            params["meeting_version"] = self.payload["version"]
        return params

    def calendar_copy(self, change: str, params: dict[str, Any]) -> None:
        """The actor's own calendar file (``change``: what they did), in a short mail of its own:
        no other mail goes to them about their own act."""
        actor = self.event.actor_id
        if actor is not None and self.mentorship.side_of(actor) is not None:
            self.mail(actor, "meeting_calendar", invite=True, change=change, **params)

    def had_calendar_file(self, user_id: int) -> bool:
        """Whether an earlier event of this meeting sent ``user_id`` its calendar file (so a
        cancellation has an entry to remove): a confirmation or a mentor's move went to both, a
        mentee's move to the other side."""
        meeting_id = self.payload["meeting_id"]
        for e in events_of(self.session, self.mentorship.id):
            if e.seq >= self.event.seq or e.payload.get("meeting_id") != meeting_id:
                continue
            if e.type == "meeting.confirmed":
                return True
            if e.type == "meeting.rescheduled" and (
                e.payload.get("status") == MeetingStatus.CONFIRMED or e.actor_id != user_id
            ):
                return True
        return False


def _requested(d: _Decision) -> None:
    m = d.mentorship
    d.notify(m.mentor_id, "request_received", message=d.payload.get("message", ""))
    d.achieve(m.mentee_id, "request_sent")


def _accepted(d: _Decision) -> None:
    d.notify(d.mentorship.mentee_id, "request_accepted", message=d.payload.get("message") or "")
    d.achieve(d.mentorship.mentor_id, "request_accepted")


def _declined(d: _Decision) -> None:
    reason = d.payload.get("reason") or ""
    d.notify(d.mentorship.mentee_id, "request_declined", reason=reason, path="/portal/mentors")


def _withdrawn(d: _Decision) -> None:
    d.notify(d.mentorship.mentor_id, "request_withdrawn")


def _expired(d: _Decision) -> None:
    for user_id in d.both:
        d.notify(user_id, "request_expired")


def _ended(d: _Decision) -> None:
    for user_id in d.others():
        d.notify(user_id, "mentorship_ended", reason=d.payload.get("reason") or "")


def _agreement_submitted(d: _Decision) -> None:
    number = d.payload["number"]
    for user_id in d.others():
        d.notify(user_id, "agreement_submitted", number=number, path=agreement_path(d.mentorship))
    if d.event.actor_id is not None:
        d.achieve(d.event.actor_id, "agreement_submitted", number=number)


def _agreement_approved(d: _Decision) -> None:
    number, first = d.payload["number"], bool(d.payload.get("first"))
    for user_id in d.others():
        d.notify(user_id, "agreement_approved", number=number, first=first)
    for user_id in d.both:
        d.achieve(user_id, "agreement_approved", number=number)


def _agreement_rejected(d: _Decision) -> None:
    reason = d.payload.get("reason") or ""
    for user_id in d.others():
        d.notify(
            user_id,
            "agreement_rejected",
            number=d.payload["number"],
            reason=reason,
            path=agreement_path(d.mentorship),
        )


def _meeting_confirmed(d: _Decision) -> None:
    """The mentee gets the news with the invite; the mentor (who confirmed) the invite alone."""
    params = d.meeting_params()
    for user_id in d.others():
        d.notify(user_id, "meeting_confirmed", invite=True, reason="", **params)
    d.calendar_copy("confirmed", params)


def _meeting_cancelled(d: _Decision) -> None:
    """The other side hears of it with the cancellation file; the actor's calendar loses the
    entry too if it ever had one."""
    params = d.meeting_params()
    for user_id in d.others():
        d.notify(user_id, "meeting_cancelled", invite=True, reason=d.payload.get("reason") or "", **params)
    if d.event.actor_id is not None and d.had_calendar_file(d.event.actor_id):
        d.calendar_copy("cancelled", params)


def _meeting_declined(d: _Decision) -> None:
    """A declined meeting leaves each calendar it was ever in: confirmed (or moved by the
    mentor) once, then moved by the mentee and declined at its new time; or a mentee's move
    sent the mentor a tentative entry."""
    params, reason = d.meeting_params(), d.payload.get("reason") or ""
    for user_id in d.others():
        invited = d.had_calendar_file(user_id)
        d.notify(user_id, "meeting_declined", invite=invited, reason=reason, invited=invited, **params)
    if d.event.actor_id is not None and d.had_calendar_file(d.event.actor_id):
        d.calendar_copy("declined", params)


def _meeting_rescheduled(d: _Decision) -> None:
    """The other side gets the new time with the updated file, asked to confirm only if the
    move still waits for the mentor; a mentor's move (their confirmation) updates their own
    calendar too."""
    params = {**d.meeting_params(), "previous_starts_at": d.payload.get("previous_starts_at") or ""}
    for user_id in d.others():
        d.notify(user_id, "meeting_rescheduled", invite=True, **params)
    if params.get("meeting_status") == MeetingStatus.CONFIRMED:
        d.calendar_copy("moved", params)


def _attendance(d: _Decision) -> None:
    """The other side hears that one side answered, in the portal (they may still have to)."""
    kind = "attendance_confirmed" if d.payload.get("attended") else "attendance_denied"
    for user_id in d.others():
        d.notify(user_id, kind, mail=False, **d.meeting_params())


def _meeting_proposed(d: _Decision) -> None:
    """The mentor hears of the proposal at the time proposed (not as a quick move changed it)."""
    for user_id in d.others():
        d.notify(user_id, "meeting_proposed", reason="", **d.meeting_params())
    if d.event.actor_id is not None:
        d.achieve(d.event.actor_id, "meeting_proposed", meeting_id=d.payload["meeting_id"])


def _meeting_held(d: _Decision) -> None:
    meeting_id = d.payload["meeting_id"]
    meeting = d.meeting_params()
    for user_id in d.both:
        d.achieve(user_id, "meeting_held", meeting_id=meeting_id)
        link = feedback_path(
            d.secret_key,
            target="meeting",
            target_id=meeting_id,
            user_id=user_id,
            requested_at=d.event.occurred_at,
        )
        d.notify(user_id, "feedback_request", mail=False, **meeting)
        d.mail(user_id, "feedback_request", **{**meeting, "path": link})
    if d.payload.get("is_intro"):
        d.ask_survey("fit", "fit_request")
    held = d.payload.get("held_count") or held_meetings(d.session, d.mentorship.id)
    for threshold, kind in ((1, "first_meeting_held"), (FIVE_MEETINGS, "five_meetings_held")):
        if held >= threshold:
            for user_id in d.both:
                d.milestone(user_id, kind, held_count=held)


def _feedback_given(d: _Decision) -> None:
    if d.event.actor_id is not None:
        d.achieve(d.event.actor_id, "feedback_given", meeting_id=d.payload.get("meeting_id"))


def _survey_answered(d: _Decision) -> None:
    if d.event.actor_id is not None:
        d.achieve(d.event.actor_id, "survey_answered", survey=d.payload.get("survey"))


def _stage_changed(d: _Decision) -> None:
    if d.payload.get("to") != Stage.COMPLETED:
        return
    kept = agreement_kept_to_plan(d.session, d.mentorship.id)
    d.ask_survey("closure", "closure_survey_request")
    for user_id in d.both:
        d.achieve(user_id, "mentorship_completed")
        d.notify(user_id, "mentorship_completed", mail=False)
        if kept:
            d.milestone(user_id, "agreement_kept_to_plan")


def _certificate_issued(d: _Decision) -> None:
    user_id, certificate_id = d.payload["user_id"], d.payload["certificate_id"]
    d.notify(
        user_id,
        "certificate_issued",
        certificate_id=certificate_id,
        path="/portal/certificates",
    )
    d.achieve(user_id, "certificate_issued", certificate_id=certificate_id)


RULES: dict[str, Callable[[_Decision], None]] = {
    "mentorship.requested": _requested,
    "mentorship.accepted": _accepted,
    "mentorship.declined": _declined,
    "mentorship.withdrawn": _withdrawn,
    "mentorship.expired": _expired,
    "mentorship.ended": _ended,
    "agreement.submitted": _agreement_submitted,
    "agreement.approved": _agreement_approved,
    "agreement.rejected": _agreement_rejected,
    "meeting.proposed": _meeting_proposed,
    "meeting.confirmed": _meeting_confirmed,
    "meeting.rescheduled": _meeting_rescheduled,
    "meeting.declined": _meeting_declined,
    "meeting.cancelled": _meeting_cancelled,
    "meeting.attendance": _attendance,
    "meeting.held": _meeting_held,
    "feedback.given": _feedback_given,
    "survey.answered": _survey_answered,
    "stage.changed": _stage_changed,
    "certificate.issued": _certificate_issued,
}
"""Event types without a rule (draft saved, missed) have no consequence here."""


def decide(session: Session, event: Event, *, secret_key: str) -> Consequences:
    mentorship = session.get_one(Mentorship, event.mentorship_id)
    decision = _Decision(session, event, mentorship, secret_key)
    rule = RULES.get(event.type)
    if rule is not None:
        rule(decision)
    return decision.out


def held_meetings(session: Session, mentorship_id: int, *, include_intro: bool = True) -> int:
    query = select(func.count(Meeting.id)).where(
        Meeting.mentorship_id == mentorship_id, Meeting.status == MeetingStatus.HELD
    )
    if not include_intro:
        query = query.where(Meeting.is_intro.is_(False))
    return session.scalar(query) or 0


def agreement_kept_to_plan(session: Session, mentorship_id: int) -> bool:
    """Held meetings (the get-to-know-you meeting aside) reached the current agreement's plan."""
    planned = session.scalar(
        select(AgreementVersion.planned_meetings)
        .where(
            AgreementVersion.mentorship_id == mentorship_id,
            AgreementVersion.status == AgreementStatus.APPROVED,
        )
        .order_by(AgreementVersion.number.desc())
        .limit(1)
    )
    if planned is None:
        return False
    return held_meetings(session, mentorship_id, include_intro=False) >= planned


# --- recording ----------------------------------------------------------------------------------


def _insert_once(session: Session, row: Notification | Achievement) -> bool:
    model = type(row)
    existing = session.scalar(
        select(model.id).where(model.user_id == row.user_id, model.dedupe_key == row.dedupe_key)
    )
    if existing is not None:
        return False
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent delivery of the same event won the race
        return False
    return True


def record(session: Session, consequences: Consequences, *, now: datetime) -> list[MailSpec]:
    """Write what is new; return the mails not yet in the outbox (for ``tasks.mail``)."""
    for n in consequences.notifications:
        _insert_once(
            session,
            Notification(
                user_id=n.user_id,
                mentorship_id=n.mentorship_id,
                kind=n.kind,
                params=n.params,
                dedupe_key=n.dedupe_key,
                created_at=now,
            ),
        )
    for a in consequences.achievements:
        _insert_once(
            session,
            Achievement(
                user_id=a.user_id,
                mentorship_id=a.mentorship_id,
                kind=a.kind,
                params=a.params,
                dedupe_key=a.dedupe_key,
                earned_at=a.earned_at,
            ),
        )
    return [mail for mail in consequences.mails if not email_exists(session, mail.dedupe_key)]


def apply(session: Session, event: Event, *, secret_key: str, now: datetime) -> list[MailSpec]:
    """Decide and record the consequences of one event; returns the mails left to enqueue."""
    return record(session, decide(session, event, secret_key=secret_key), now=now)
