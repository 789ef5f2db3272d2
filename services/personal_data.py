"""A person's own data: all of it to take away (export), and its erasure.

**Export** gathers everything stored about the person, or written by them, in one JSON
document: account, profile, their mentorships (the other participant by name only), the
agreement versions they wrote, meetings with their attendance, the feedback and survey
answers *they* gave, achievements, notifications, certificates (with their download links),
the mails sent to them and their sign-ins. Nobody else's feedback, contact data or activity is in it.

**Erasure** removes the person, not the shared record. A mentorship belongs to both of its
participants, so its row, meetings, agreements and event log stay (the other side keeps their
history and certificate); what identifies or was written only by the erased person goes:

- the account becomes an anonymous, deactivated placeholder (name, email, password, profile,
  language and time zone cleared), every sign-in ends and is deleted;
- their feedback, survey answers, notifications, achievements, the mails addressed to them,
  the stored answers of their writes, and the message of their requests are deleted;
- their certificates stay verifiable on ``/verify/{code}`` under the placeholder name (the
  PDF, which names them, is gone); what they wrote leaves the event log; their name and
  address leave the mails, notifications and achievements of the other participant;
- the other participant's certificate is rendered again without their name (it only said who
  accompanied whom); its verification code, issue date and everything else stay.

A person with a mentorship still under way cannot be erased: the other participant depends on
it. They end it first (or an operator does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import escape
from sqlalchemy import ScalarResult, delete, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import (
    FINISHED_STAGES,
    Achievement,
    AgreementVersion,
    Attendance,
    Certificate,
    Event,
    Feedback,
    IdempotentResponse,
    Meeting,
    Mentorship,
    Notification,
    OutgoingEmail,
    SignIn,
    SurveyAnswer,
    User,
)
from services.certificates import RenderCertificate, reissue_without_other
from services.errors import Conflict
from services.i18n import _
from services.users import NO_PASSWORD

ERASED_NAME = "Erased participant"
#: Event payload fields that hold what the acting person wrote (a request, a reason, a comment).
WORDS_OF_THE_ACTOR = frozenset({"message", "reason", "comment", "agenda", "location", "notes"})


def export(session: Session, user: User, *, now: datetime) -> dict[str, Any]:
    mentorships = _mentorships_of(session, user.id)
    meetings = session.scalars(
        select(Meeting).where(Meeting.mentorship_id.in_([m.id for m in mentorships])).order_by(Meeting.id)
    )
    attendance = {a.meeting_id: a.attended for a in _owned(session, Attendance.user_id, user.id)}
    return {
        "exported_at": now,
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "roles": sorted(user.role_names),
            "locale": user.locale,
            "timezone": user.timezone,
            "created_at": user.created_at,
            "deactivated_at": user.deactivated_at,
        },
        "profile": {
            "bio": user.profile.bio,
            "mentee_goals": user.profile.mentee_goals,
            "mentee_topics": user.profile.mentee_topics,
            "mentor_offer": user.profile.mentor_offer,
            "mentor_topics": user.profile.mentor_topics,
            "mentor_capacity": user.profile.mentor_capacity,
        },
        "mentorships": [_mentorship(m, user.id) for m in mentorships],
        "agreement_versions_written": [
            _agreement(a) for a in _owned(session, AgreementVersion.author_id, user.id)
        ],
        "meetings": [_meeting(m, user.id, attendance.get(m.id)) for m in meetings],
        "feedback_given": [
            {"mentorship_id": f.mentorship_id, "meeting_id": f.meeting_id, "rating": f.rating,
             "comment": f.comment, "given_at": f.created_at}
            for f in _owned(session, Feedback.author_id, user.id)
        ],
        "survey_answers": [
            {"mentorship_id": a.mentorship_id, "survey": a.survey, "fit": a.fit,
             "goals_reached": a.goals_reached, "would_recommend": a.would_recommend,
             "comment": a.comment, "answered_at": a.answered_at}
            for a in _owned(session, SurveyAnswer.author_id, user.id)
        ],
        "achievements": [
            {"kind": a.kind, "mentorship_id": a.mentorship_id, "params": a.params, "earned_at": a.earned_at}
            for a in _owned(session, Achievement.user_id, user.id)
        ],
        "notifications": [
            {"kind": n.kind, "mentorship_id": n.mentorship_id, "params": n.params, "created_at": n.created_at}
            for n in _owned(session, Notification.user_id, user.id)
        ],
        "certificates": [
            {"id": c.id, "mentorship_id": c.mentorship_id, "role": c.role,
             "verification_code": c.verification_code, "issued_at": c.issued_at,
             "download": f"/api/certificates/{c.id}.pdf"}
            for c in _owned(session, Certificate.user_id, user.id)
        ],
        "mails_to_me": [
            {"kind": e.kind, "subject": e.subject, "created_at": e.created_at, "sent_at": e.sent_at}
            for e in _owned(session, OutgoingEmail.user_id, user.id)
        ],
        "sign_ins": [
            {"began_at": s.created_at, "expires_at": s.expires_at, "ended_at": s.ended_at}
            for s in _owned(session, SignIn.user_id, user.id)
        ],
    }  # fmt: skip


def erase(session: Session, user: User, *, now: datetime, render: RenderCertificate) -> None:
    """Erase ``user`` as the module says; ``Conflict`` while a mentorship of theirs is open.
    ``render`` renders the other participants' certificates again (see ``tasks.certificate``)."""
    mentorships = _mentorships_of(session, user.id)
    if any(m.stage not in FINISHED_STAGES for m in mentorships):
        raise Conflict(
            _("End your mentorships that are still under way first; then your data can be erased.")
        )
    for model, owner in (
        (Feedback, Feedback.author_id),
        (SurveyAnswer, SurveyAnswer.author_id),
        (Notification, Notification.user_id),
        (Achievement, Achievement.user_id),
        (OutgoingEmail, OutgoingEmail.user_id),
        (IdempotentResponse, IdempotentResponse.user_id),
        (SignIn, SignIn.user_id),
    ):
        session.execute(delete(model).where(owner == user.id))
    _pseudonymise_shared_record(session, user, [m.id for m in mentorships])
    for certificate in session.scalars(
        select(Certificate).where(
            Certificate.mentorship_id.in_([m.id for m in mentorships]), Certificate.user_id != user.id
        )
    ):
        if certificate.pdf:  # not if its holder was erased before (their PDF is gone for good)
            reissue_without_other(session, certificate, render)
    for mentorship in mentorships:
        if mentorship.mentee_id == user.id:
            mentorship.request_message = ""
        elif mentorship.acceptance_message:
            mentorship.acceptance_message = ""
    user.email = f"erased-{user.id}@erased.invalid"
    user.display_name = ERASED_NAME
    user.password_hash = NO_PASSWORD
    user.locale, user.timezone = "", "UTC"
    user.deactivated_at = user.deactivated_at or now
    user.erased_at = now
    profile = user.profile
    profile.bio = profile.mentee_goals = profile.mentor_offer = ""
    profile.mentee_topics, profile.mentor_topics, profile.mentor_capacity = [], [], 0
    profile.updated_at = now


def _pseudonymise_shared_record(session: Session, user: User, mentorship_ids: list[int]) -> None:
    """What the other participant and the program keep, without the erased person in it:
    their certificates stay verifiable (``/verify/{code}`` shows the placeholder name; the PDF,
    which names them, is gone), their words leave the event log, and their name and address
    leave the mails, notifications and achievements of the other side."""
    for certificate in session.scalars(select(Certificate).where(Certificate.user_id == user.id)):
        certificate.pdf = b""
        certificate.summary = {**certificate.summary, "holder_name": ERASED_NAME}
    for event in session.scalars(
        select(Event).where(Event.mentorship_id.in_(mentorship_ids), Event.actor_id == user.id)
    ):
        reason = event.payload.get("reason")
        mentorship = session.get_one(Mentorship, event.mentorship_id)
        if reason and mentorship.closing_reason == reason:  # they declined, withdrew or ended it
            mentorship.closing_reason = ""
        event.payload = {k: ("" if k in WORDS_OF_THE_ACTOR else v) for k, v in event.payload.items()}
    traces = list(
        dict.fromkeys(t for t in (user.display_name, str(escape(user.display_name)), user.email) if t)
    )
    for mail in session.scalars(select(OutgoingEmail).where(OutgoingEmail.mentorship_id.in_(mentorship_ids))):
        mail.subject, mail.body_text, mail.body_html = (
            _without(text, traces) for text in (mail.subject, mail.body_text, mail.body_html)
        )
        mail.recipient = _without(mail.recipient, traces)
        mail.calendar = None  # names both participants, folded across lines: dropped whole
    notices = session.scalars(select(Notification).where(Notification.mentorship_id.in_(mentorship_ids)))
    earned = session.scalars(select(Achievement).where(Achievement.mentorship_id.in_(mentorship_ids)))
    for row in [*notices, *earned]:
        row.params = {k: _without(v, traces) if isinstance(v, str) else v for k, v in row.params.items()}


def _without(text: str, traces: list[str]) -> str:
    for trace in traces:
        text = text.replace(trace, ERASED_NAME)
    return text


def _owned(session: Session, owner: InstrumentedAttribute[Any], user_id: int) -> ScalarResult[Any]:
    """The rows of ``owner``'s table that belong to ``user_id``, in the order they were made."""
    model = owner.class_
    order = model.created_at if model is SignIn else model.__mapper__.primary_key[0]
    return session.scalars(select(model).where(owner == user_id).order_by(order))


def _mentorships_of(session: Session, user_id: int) -> list[Mentorship]:
    query = select(Mentorship).where(or_(Mentorship.mentee_id == user_id, Mentorship.mentor_id == user_id))
    return list(session.scalars(query.order_by(Mentorship.id)).unique())


def _mentorship(m: Mentorship, user_id: int) -> dict[str, Any]:
    mine_as_mentee = m.mentee_id == user_id
    return {
        "id": m.id,
        "my_role": "mentee" if mine_as_mentee else "mentor",
        "other_participant": (m.mentor if mine_as_mentee else m.mentee).display_name,
        "stage": m.stage,
        "request_message": m.request_message if mine_as_mentee else None,
        "acceptance_message": m.acceptance_message,
        "requested_at": m.requested_at,
        "accepted_at": m.accepted_at,
        "activated_at": m.activated_at,
        "finished_at": m.finished_at,
        "closing_reason": m.closing_reason,
    }


def _agreement(a: AgreementVersion) -> dict[str, Any]:
    return {
        "mentorship_id": a.mentorship_id,
        "number": a.number,
        "status": a.status,
        "period_start": a.period_start,
        "period_end": a.period_end,
        "planned_meetings": a.planned_meetings,
        "contact_modes": a.contact_modes,
        "contact_frequency": a.contact_frequency,
        "content_plan": a.content_plan,
        "notes": a.notes,
        "created_at": a.created_at,
    }


def _meeting(m: Meeting, user_id: int, attended: bool | None) -> dict[str, Any]:
    return {
        "id": m.id,
        "mentorship_id": m.mentorship_id,
        "status": m.status,
        "starts_at": m.starts_at,
        "duration_minutes": m.duration_minutes,
        "mode": m.mode,
        "location": m.location,
        "agenda": m.agenda,
        "topics": m.topics,
        "proposed_by_me": m.proposed_by_id == user_id,
        "i_attended": attended,
    }
