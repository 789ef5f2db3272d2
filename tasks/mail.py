"""Mail: render decided mails into the outbox, and send the outbox over SMTP.

``enqueue_mails`` runs inside the task transaction that decided the mails, so a mail exists
exactly when its consequence was recorded; its text is fixed then, and a retry sends the same
words. ``deliver_outbox`` sends each unsent row in its own transaction and marks it sent right
after the SMTP server accepted it; a failure counts an attempt and leaves the row for the next
run (``send_pending_mail`` runs after every lifecycle step and on a schedule).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from icalendar import Calendar
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Meeting, OutgoingEmail, User
from models.db import session_scope
from models.settings import Settings, get_settings
from services import catalogue, outbox
from services.calendar import calendar_for
from services.consequences import MailSpec
from services.outbox import NewEmail
from services.password_links import Purpose, password_link_mail
from services.program import program_of
from tasks.email_render import Recipient, render_email

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10.0
BATCH_SIZE = 200


# --- enqueueing ----------------------------------------------------------------------------------


def enqueue_mails(session: Session, mails: Sequence[MailSpec], *, settings: Settings, now: datetime) -> int:
    """Render each mail for its recipient, add it to the outbox once; returns how many are new."""
    added = 0
    program = program_of(session) if mails else None
    for spec in mails:
        if outbox.email_exists(session, spec.dedupe_key):
            continue
        user = session.get(User, spec.user_id)
        if user is None:
            continue
        recipient = Recipient(name=user.display_name, locale=user.locale, timezone=user.timezone)
        rendered = render_email(
            spec.kind,
            _with_topic_names(session, spec.params, user.locale),
            recipient=recipient,
            base_url=settings.base_url,
            program=program,
        )
        new = NewEmail(
            dedupe_key=spec.dedupe_key,
            user_id=user.id,
            mentorship_id=spec.mentorship_id,
            recipient=formataddr((user.display_name, user.email)),
            kind=spec.kind,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            calendar=_invite(session, spec, user, settings=settings, now=now),
        )
        added += outbox.enqueue_email(session, new, now=now)
    return added


def _invite(session: Session, spec: MailSpec, user: User, *, settings: Settings, now: datetime) -> str | None:
    """The meeting's calendar file for the mail's recipient, if the mail carries one: as the
    mail's event left the meeting (its params), so it tells the same as the mail's words."""
    meeting = session.get(Meeting, spec.params.get("meeting_id")) if spec.invite else None
    if meeting is None:
        return None
    ical = calendar_for(
        session,
        meeting,
        user,
        organizer=settings.mail_from,
        base_url=settings.base_url,
        now=now,
        as_of=spec.params,
    )
    return None if ical is None else ical.decode()


def _with_topic_names(session: Session, params: dict[str, Any], language: str) -> dict[str, Any]:
    """Catalogue topics by their title in the recipient's language (params hold slugs)."""
    topics = params.get("topics")
    if not isinstance(topics, list) or not topics:
        return params
    return {**params, "topics": catalogue.names(session, [str(t) for t in topics], language)}


def enqueue_password_link(
    session: Session, user: User, purpose: Purpose, *, settings: Settings, now: datetime
) -> None:
    """Mail ``user`` a link to choose a password: an invitation or a reset."""
    mail = password_link_mail(settings.secret_key, user, purpose, now=now)
    enqueue_mails(session, [mail], settings=settings, now=now)


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user:pass@]host:port`` (``?starttls=1`` to upgrade) or ``smtps://...``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"not an SMTP URL: {url!r}")
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls="starttls=1" in parts.query or "starttls=true" in parts.query,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def connect(target: SmtpTarget) -> smtplib.SMTP:
    smtp_class = smtplib.SMTP_SSL if target.tls else smtplib.SMTP
    smtp = smtp_class(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if target.starttls:
            smtp.starttls()
        if target.username:
            smtp.login(target.username, target.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def message_id(email: OutgoingEmail, mail_from: str) -> str:
    """The same for every attempt at one outbox row, so receivers can drop a rare duplicate."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "mentorflow.localhost"
    digest = hashlib.sha256(email.dedupe_key.encode()).hexdigest()[:16]
    return f"<mentorflow.{email.id}.{digest}@{domain}>"


def build_message(email: OutgoingEmail, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = mail_from
    message["To"] = email.recipient
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = message_id(email, mail_from)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Mentorflow-Kind"] = email.kind
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    if email.calendar:
        _attach_calendar(message, email.calendar)
    return message


def _attach_calendar(message: EmailMessage, ical: str) -> None:
    """``invite.ics`` as ``text/calendar`` with the file's own METHOD, as calendar apps expect."""
    method = str(Calendar.from_ical(ical).get("method", "REQUEST"))
    message.add_attachment(
        ical.encode(),
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
        params={"method": method, "charset": "utf-8"},
    )


class DeliveryReport(NamedTuple):
    sent: int
    failed: int


def deliver_outbox(
    *,
    smtp_url: str,
    mail_from: str,
    engine: Engine | None = None,
    limit: int = BATCH_SIZE,
    mentorship_id: int | None = None,
) -> DeliveryReport:
    """Send every unsent row (up to ``limit``; of one mentorship, if given) over one SMTP connection."""
    with session_scope(engine) as session:
        pending = outbox.unsent_email_ids(session, limit=limit, mentorship_id=mentorship_id)
    if not pending:
        return DeliveryReport(sent=0, failed=0)
    try:
        smtp = connect(parse_smtp_url(smtp_url))
    except (OSError, smtplib.SMTPException) as error:
        log.warning("SMTP %s unreachable, %d mails wait: %s", smtp_url, len(pending), error)
        _record_failure(engine, pending, f"SMTP unreachable: {error!r}")
        return DeliveryReport(sent=0, failed=len(pending))
    sent = failed = 0
    with smtp:
        for email_id in pending:
            try:
                sent += _send_one(engine, smtp, email_id, mail_from)
            except smtplib.SMTPServerDisconnected as error:
                _record_failure(engine, [email_id], repr(error))
                failed += 1
                break  # the rest waits for the next run
            except (OSError, smtplib.SMTPException) as error:
                _record_failure(engine, [email_id], repr(error))
                failed += 1
    return DeliveryReport(sent=sent, failed=failed)


def _send_one(engine: Engine | None, smtp: smtplib.SMTP, email_id: int, mail_from: str) -> int:
    with session_scope(engine) as session:
        email = outbox.claim_unsent(session, email_id)
        if email is None:  # sent meanwhile, or another sender holds it
            return 0
        smtp.send_message(build_message(email, mail_from))
        outbox.mark_sent(session, email, now=datetime.now(UTC))
    return 1


def _record_failure(engine: Engine | None, email_ids: Sequence[int], error: str) -> None:
    with session_scope(engine) as session:
        outbox.record_failure(session, email_ids, error)


@task(name="send-pending-mail", cache_policy=NO_CACHE, persist_result=False)
def send_pending_mail() -> int:
    """Send what waits in the outbox; returns how many mails went out now."""
    settings = get_settings()
    if not settings.smtp_url:
        log.warning("MENTORFLOW_SMTP_URL is not set; mail stays in the outbox")
        return 0
    report = deliver_outbox(smtp_url=settings.smtp_url, mail_from=settings.mail_from)
    if report.failed:
        _logger().warning("sent %d mails; %d failed and wait for the next run", *report)
    elif report.sent:
        _logger().info("sent %d mails", report.sent)
    return report.sent


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The task run's logger (shown in the Prefect UI), or this module's outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return log
