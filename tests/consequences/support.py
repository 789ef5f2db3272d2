"""Helpers for the consequence tests: a real SMTP server to start and stop, and a pair of
participants acting through the domain services with a movable clock."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Certificate, Event, OutgoingEmail, User
from models.settings import Settings, get_settings
from services import agreements, consequences, lifecycle, meetings, mentorships
from services.access import load_mentorship
from services.agreements import AgreementTerms
from services.events import append_event, events_of, pending_events
from services.meetings import MeetingPlan
from tasks.consequences import handle_events
from tasks.mail import deliver_outbox, enqueue_mails
from tests.support import Clock

T = TypeVar("T")
BASE_URL = "https://mentoring.example.org"


# --- SMTP -----------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else (content or "").encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def kinds(self, address: str | None = None) -> list[str]:
        found = self.to(address) if address else self.messages
        return sorted(str(m["X-Mentorflow-Kind"]) for m in found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    """A real SMTP server on ``port`` that tests start and stop (to play "SMTP is down")."""

    port: int
    inbox: Inbox = field(default_factory=Inbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def password_link_in_last_mail(
    smtp: SmtpServer, db: Engine, settings: Settings, address: str, kind: str
) -> str:
    """Send the outbox as the send-mail sweep does; the token of the newest ``kind`` mail's
    link to ``/portal/password`` (an invitation or a reset)."""
    deliver_outbox(smtp_url=f"smtp://127.0.0.1:{smtp.port}", mail_from=settings.mail_from, engine=db)
    mails = [m for m in smtp.inbox.to(address) if m["X-Mentorflow-Kind"] == kind]
    assert mails, smtp.inbox.kinds()
    body = mails[-1].get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"https?://\S+/portal/password\?token=\S+", body.get_content())
    assert found is not None, body.get_content()
    (token,) = parse_qs(urlsplit(found.group(0)).query)["token"]
    return token


# --- a pair acting through the domain services ------------------------------------------------


@dataclass
class Pair:
    """A mentee and a mentor; every fact goes through ``services`` in its own transaction."""

    engine: Engine
    clock: Clock
    mentee_id: int
    mentor_id: int
    mentorship_id: int = 0

    def run(self, action: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            return action(session)

    def as_user(self, user_id: int, action: Callable[[Session, User], T]) -> T:
        return self.run(lambda s: action(s, s.get_one(User, user_id)))

    # facts
    def request(self, message: str = "Would you mentor me?") -> int:
        mentorship = self.as_user(
            self.mentee_id,
            lambda s, u: mentorships.request_mentorship(
                s, u, mentor_id=self.mentor_id, message=message, now=self.clock.now
            ),
        )
        self.mentorship_id = mentorship.id
        return mentorship.id

    def accept(self, message: str | None = None) -> None:
        self.as_user(
            self.mentor_id,
            lambda s, u: mentorships.decide(
                s, u, self.mentorship_id, lifecycle.Fact.ACCEPT, now=self.clock.now, message=message
            ),
        )

    def agree(self, planned_meetings: int = 3) -> None:
        """The mentee drafts and submits v1, the mentor approves; the stage moves to active."""
        terms = AgreementTerms(
            period_start=date(2026, 4, 1),
            period_end=date(2026, 12, 31),
            planned_meetings=planned_meetings,
            contact_modes=["video"],
            contact_frequency="monthly",
            content_plan=[{"topic": "career", "notes": ""}],
        )
        self.submit_agreement(terms)
        number = 1
        self.as_user(
            self.mentor_id,
            lambda s, u: agreements.decide(
                s, u, self.mentorship_id, number=number, approve=True, now=self.clock.now
            ),
        )
        self.run(lambda s: lifecycle.activate(s, self.mentorship_id, now=self.clock.now))

    def submit_agreement(self, terms: AgreementTerms) -> None:
        mid = self.mentorship_id
        self.as_user(self.mentee_id, lambda s, u: agreements.save_draft(s, u, mid, terms, now=self.clock.now))
        self.as_user(self.mentee_id, lambda s, u: agreements.submit(s, u, mid, now=self.clock.now))

    def propose(self, starts_in: timedelta = timedelta(days=7), *, is_final: bool = False) -> int:
        plan = MeetingPlan(
            starts_at=self.clock.now + starts_in,
            duration_minutes=60,
            mode="video",
            location="https://video.example.org/room",
            agenda="Goals",
            topics=("career",),
            is_final=is_final,
        )
        meeting = self.as_user(
            self.mentee_id,
            lambda s, u: meetings.propose(s, u, self.mentorship_id, plan, now=self.clock.now),
        )
        return meeting.id

    def confirm(self, meeting_id: int) -> None:
        self.as_user(self.mentor_id, lambda s, u: meetings.confirm(s, u, meeting_id, now=self.clock.now))

    def attend(self, meeting_id: int, user_id: int, attended: bool = True) -> None:
        self.as_user(
            user_id,
            lambda s, u: meetings.record_attendance(s, u, meeting_id, attended=attended, now=self.clock.now),
        )

    def hold_meeting(self, *, is_final: bool = False) -> int:
        """Propose, confirm, let the clock pass the start, both attend: a held meeting."""
        meeting_id = self.propose(is_final=is_final)
        self.confirm(meeting_id)
        self.clock.advance(days=7, hours=2)
        self.attend(meeting_id, self.mentee_id)
        self.attend(meeting_id, self.mentor_id)
        return meeting_id

    def feedback(self, meeting_id: int, user_id: int, rating: int = 5) -> None:
        self.as_user(
            user_id,
            lambda s, u: meetings.give_feedback(
                s, u, meeting_id, rating=rating, comment="Helpful", now=self.clock.now
            ),
        )

    def certify_and_complete(self) -> None:
        """Certificates for both with their events; closing → completed (the flow's moves)."""
        self.run(lambda s: lifecycle.begin_closing(s, self.mentorship_id, now=self.clock.now))
        for user_id, role in ((self.mentee_id, "mentee"), (self.mentor_id, "mentor")):
            self.run(lambda s, uid=user_id, r=role: self._certificate(s, uid, r))  # type: ignore[misc]
        self.run(lambda s: lifecycle.complete(s, self.mentorship_id, now=self.clock.now))

    def _certificate(self, session: Session, user_id: int, role: str) -> None:
        certificate = Certificate(
            mentorship_id=self.mentorship_id,
            user_id=user_id,
            role=role,
            verification_code=f"code-{self.mentorship_id}-{user_id}",
            issued_at=self.clock.now,
            pdf=b"%PDF-1.7",
            sha256="0" * 64,
        )
        session.add(certificate)
        session.flush()
        mentorship = load_mentorship(session, self.mentorship_id, lock=True)
        assert mentorship is not None
        append_event(
            session,
            mentorship,
            "certificate.issued",
            actor_id=None,
            now=self.clock.now,
            payload={"certificate_id": certificate.id, "user_id": user_id},
        )

    # what the task workers do with the log
    def deliver(self) -> list[Event]:
        """Handle every unhandled event in order, as a task worker's ``handle-events`` does."""
        events = self.run(lambda s: pending_events(s, self.mentorship_id))
        assert handle_events.fn(self.mentorship_id) == len(events)
        return events

    def redeliver_all(self) -> None:
        """Apply every event's consequences again (the cursor prevents this in the handler;
        the rules must still write nothing twice)."""
        settings = get_settings()
        for event in self.run(lambda s: events_of(s, self.mentorship_id)):

            def apply(s: Session, event: Event = event) -> None:
                mails = consequences.apply(s, event, secret_key=settings.secret_key, now=self.clock.now)
                enqueue_mails(s, mails, settings=settings, now=self.clock.now)

            self.run(apply)

    # reads
    def mentee_email(self) -> str:
        return self.run(lambda s: s.get_one(User, self.mentee_id).email)

    def mentor_email(self) -> str:
        return self.run(lambda s: s.get_one(User, self.mentor_id).email)


def count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def outbox(engine: Engine) -> list[OutgoingEmail]:
    with Session(engine) as session:
        return list(session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))
