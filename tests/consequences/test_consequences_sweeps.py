"""Sweeps with a moved clock: inactivity feedback requests, reminders, expiry of requests."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Meeting, Mentorship, Notification, Stage
from models.settings import Settings
from services import meetings
from services.agreements import AgreementTerms
from services.feedback_links import verify_feedback_token
from services.meetings import MeetingMove
from tasks.mail import send_pending_mail
from tasks.sweeps import (
    expire_requests,
    refresh_next_steps,
    remind_attendance,
    remind_pending_answers,
    remind_upcoming_meetings,
    request_inactivity_feedback,
)
from tests.consequences.support import BASE_URL, Inbox, Pair


def mentorship(pair: Pair) -> Mentorship:
    with Session(pair.engine) as session:
        return session.get_one(Mentorship, pair.mentorship_id)


def meeting_start(pair: Pair, meeting_id: int) -> datetime:
    with Session(pair.engine) as session:
        return session.get_one(Meeting, meeting_id).starts_at


def test_inactivity_feedback_request_once_per_period_of_quiet(
    pair: Pair, inbox: Inbox, app_settings: Settings
) -> None:
    period = app_settings.inactivity_after
    assert period == timedelta(days=21)
    pair.request()
    pair.accept()
    pair.hold_meeting()
    pair.agree()
    quiet_since = mentorship(pair).last_activity_at
    assert mentorship(pair).stage == Stage.ACTIVE

    assert request_inactivity_feedback.fn(quiet_since + period - timedelta(minutes=1)) == 0
    assert request_inactivity_feedback.fn(quiet_since + period) == 2
    assert request_inactivity_feedback.fn(quiet_since + period) == 0
    assert request_inactivity_feedback.fn(quiet_since + 2 * period - timedelta(minutes=1)) == 0
    assert request_inactivity_feedback.fn(quiet_since + 2 * period) == 2  # still quiet: again

    pair.clock.now = quiet_since + 2 * period + timedelta(days=1)
    pair.propose()  # activity: the count starts over
    active_again = pair.clock.now
    assert request_inactivity_feedback.fn(active_again + period - timedelta(minutes=1)) == 0
    assert request_inactivity_feedback.fn(active_again + period) == 2

    send_pending_mail.fn()
    for address, user_id in (("mia@", pair.mentee_id), ("max@", pair.mentor_id)):
        mails = [m for m in inbox.to(address) if m["X-Mentorflow-Kind"] == "inactivity_feedback_request"]
        assert len(mails) == 3
        body = mails[0].get_body(preferencelist=("plain",))
        assert body is not None
        link = re.search(
            rf"{re.escape(BASE_URL)}/portal/mentorships/(\d+)/feedback\?token=(\S+)", body.get_content()
        )
        assert link is not None
        assert int(link.group(1)) == pair.mentorship_id
        assert (
            verify_feedback_token(
                app_settings.secret_key,
                link.group(2),
                target="mentorship",
                target_id=pair.mentorship_id,
                now=pair.clock.now,
            )
            == user_id
        )


def test_unanswered_request_is_reminded_once_then_expires(
    pair: Pair, inbox: Inbox, app_settings: Settings
) -> None:
    requested = pair.clock.now
    pair.request()
    pair.deliver()

    assert remind_pending_answers.fn(requested + timedelta(days=2, hours=23)) == 0
    assert remind_pending_answers.fn(requested + timedelta(days=3)) == 1
    assert remind_pending_answers.fn(requested + timedelta(days=5)) == 0

    expiry = app_settings.request_expiry
    assert expire_requests.fn(requested + expiry - timedelta(minutes=1)) == []
    assert expire_requests.fn(requested + expiry) == [pair.mentorship_id]
    assert expire_requests.fn(requested + expiry + timedelta(days=1)) == []
    closed = mentorship(pair)
    assert (closed.stage, closed.closing_reason) == (Stage.DECLINED, "expired")
    assert closed.finished_at == requested + expiry

    events = pair.deliver()  # the flow hands the expiry on like any other event
    assert [e.type for e in events] == ["mentorship.expired"]
    assert remind_pending_answers.fn(requested + timedelta(days=30)) == 0

    send_pending_mail.fn()
    assert inbox.kinds("max@") == ["reminder_request", "request_expired", "request_received"]
    assert inbox.kinds("mia@") == ["request_expired"]
    with Session(pair.engine) as session:
        kinds = session.scalars(select(Notification.kind).where(Notification.user_id == pair.mentee_id))
        assert list(kinds) == ["request_expired"]


def test_waiting_agreement_and_meeting_proposal_are_reminded_once(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept()
    submitted = pair.clock.now
    pair.submit_agreement(
        AgreementTerms(
            period_start=submitted.date(),
            period_end=submitted.date() + timedelta(days=180),
            planned_meetings=4,
            contact_modes=["video"],
            contact_frequency="monthly",
            content_plan=[],
        )
    )
    pair.propose(timedelta(days=10))

    assert remind_pending_answers.fn(submitted + timedelta(days=2)) == 0
    assert remind_pending_answers.fn(submitted + timedelta(days=3)) == 2
    assert remind_pending_answers.fn(submitted + timedelta(days=4)) == 0
    send_pending_mail.fn()
    assert inbox.kinds("max@") == ["reminder_agreement", "reminder_meeting_proposed"]
    assert inbox.kinds("mia@") == []
    (mail,) = [m for m in inbox.to("max@") if m["X-Mentorflow-Kind"] == "reminder_agreement"]
    assert mail["Subject"] == "Vereinbarung v1 wartet noch auf Ihre Bestätigung"


def test_meeting_reminder_the_day_before_and_attendance_reminder_after(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept()
    meeting_id = pair.propose(timedelta(days=7))
    pair.confirm(meeting_id)
    starts = meeting_start(pair, meeting_id)

    assert remind_upcoming_meetings.fn(starts - timedelta(hours=25)) == 0
    assert remind_upcoming_meetings.fn(starts - timedelta(hours=23)) == 2
    assert remind_upcoming_meetings.fn(starts - timedelta(hours=1)) == 0
    assert remind_upcoming_meetings.fn(starts + timedelta(minutes=5)) == 0

    # the minute sweep stores what the meeting's start changed: now both must say they took part
    assert refresh_next_steps.fn(starts - timedelta(minutes=1)) == 0
    assert mentorship(pair).next_action == "meet"
    assert refresh_next_steps.fn(starts + timedelta(minutes=1)) == 1
    assert (mentorship(pair).next_who, mentorship(pair).next_action) == ("both", "confirm_attendance")
    assert refresh_next_steps.fn(starts + timedelta(minutes=2)) == 0

    assert remind_attendance.fn(starts + timedelta(minutes=30)) == 0  # still going on
    pair.clock.now = starts + timedelta(minutes=45)
    pair.attend(meeting_id, pair.mentee_id)
    assert remind_attendance.fn(starts + timedelta(hours=2)) == 1  # only the mentor is missing
    assert remind_attendance.fn(starts + timedelta(hours=30)) == 0

    send_pending_mail.fn()
    assert inbox.kinds("mia@") == ["reminder_meeting_tomorrow"]
    assert inbox.kinds("max@") == ["reminder_attendance", "reminder_meeting_tomorrow"]


def test_a_meeting_moved_after_its_reminder_is_reminded_of_its_new_time_once(
    pair: Pair, inbox: Inbox
) -> None:
    pair.request()
    pair.accept()
    meeting_id = pair.propose(timedelta(days=7))
    pair.confirm(meeting_id)
    starts = meeting_start(pair, meeting_id)

    def mentor_moves(move: MeetingMove) -> None:  # the mentor's move keeps it confirmed
        pair.clock.now += timedelta(minutes=10)
        pair.as_user(
            pair.mentor_id,
            lambda s, u: meetings.reschedule(s, u, meeting_id, move, now=pair.clock.now),
        )

    pair.clock.now = starts - timedelta(hours=23)
    assert remind_upcoming_meetings.fn(pair.clock.now) == 2
    later = starts + timedelta(hours=3)
    mentor_moves(MeetingMove(starts_at=later))
    assert remind_upcoming_meetings.fn(pair.clock.now) == 0  # not due yet
    assert remind_upcoming_meetings.fn(later - timedelta(hours=23)) == 2  # the new time: both again
    pair.clock.now = later - timedelta(hours=22)
    assert remind_upcoming_meetings.fn(pair.clock.now) == 0
    mentor_moves(MeetingMove(location="Café Mitte"))  # same time, new place: the move's mail says it
    assert remind_upcoming_meetings.fn(pair.clock.now) == 0
    mentor_moves(MeetingMove(starts_at=starts))  # back to the first time: reminded of it already
    assert remind_upcoming_meetings.fn(pair.clock.now) == 0

    send_pending_mail.fn()
    reminders = [m for m in inbox.to("mia@") if m["X-Mentorflow-Kind"] == "reminder_meeting_tomorrow"]
    texts = []
    for mail in reminders:
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        texts.append(body.get_content())
    assert len(texts) == 2
    assert "When: Monday, March 9, 2026, 9:00" in texts[0]  # Mia reads London time
    assert "When: Monday, March 9, 2026, 12:00" in texts[1]


def test_a_reminder_sent_under_the_key_that_named_the_meeting_alone_is_not_sent_again(
    pair: Pair, inbox: Inbox
) -> None:
    """Reminders written before the key named the start: nobody is reminded twice of one time."""
    pair.request()
    pair.accept()
    meeting_id = pair.propose(timedelta(days=7))
    pair.confirm(meeting_id)
    starts = meeting_start(pair, meeting_id)
    pair.clock.now = starts - timedelta(hours=23)
    with Session(pair.engine) as session, session.begin():
        session.add(
            Notification(
                user_id=pair.mentee_id,
                mentorship_id=pair.mentorship_id,
                kind="reminder_meeting_tomorrow",
                params={"meeting_id": meeting_id, "starts_at": starts.isoformat()},
                dedupe_key=f"reminder:meeting_tomorrow:{meeting_id}:reminder_meeting_tomorrow",
                created_at=pair.clock.now - timedelta(hours=1),
            )
        )

    assert remind_upcoming_meetings.fn(pair.clock.now) == 1  # Max only: Mia had hers
    later = starts + timedelta(hours=1)
    pair.as_user(
        pair.mentor_id,
        lambda s, u: meetings.reschedule(s, u, meeting_id, MeetingMove(starts_at=later), now=pair.clock.now),
    )
    assert remind_upcoming_meetings.fn(pair.clock.now) == 2  # the new time: both
    send_pending_mail.fn()
    assert inbox.kinds("mia@") == ["reminder_meeting_tomorrow"]
    assert inbox.kinds("max@") == ["reminder_meeting_tomorrow"] * 2
