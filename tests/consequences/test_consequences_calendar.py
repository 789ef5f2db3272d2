"""Calendar invites by mail, caught by a real SMTP server and read as a calendar app would:
an invite when the meeting is confirmed, an update when it moves, a cancellation when it is
called off; one UID, a SEQUENCE that counts up, each in the recipient's language and zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notification
from services import meetings
from services.meetings import MeetingMove
from tasks.mail import send_pending_mail
from tests.consequences.support import BASE_URL, Inbox, Pair


def invite_in(inbox: Inbox, address: str, kind: str) -> tuple[EmailMessage, Calendar, Event]:
    """The one ``kind`` mail to ``address``, its ``.ics`` attachment parsed, and its event
    (with what RFC 5545 and iTIP require of it)."""
    (mail,) = [m for m in inbox.to(address) if m["X-Mentorflow-Kind"] == kind]
    (part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invite.ics"
    calendar = Calendar.from_ical(part.get_content())
    assert part.get_param("method") == calendar.method
    assert (calendar.prodid, calendar["version"]) == ("-//mentorflow//meetings//EN", "2.0")
    (event,) = calendar.events
    for required in ("uid", "dtstamp", "dtstart", "dtend", "sequence", "organizer", "attendee"):
        assert required in event, required
    return mail, calendar, event


def test_confirm_move_and_cancel_send_one_calendar_event_updated_and_then_removed(
    pair: Pair, inbox: Inbox
) -> None:
    pair.request()
    pair.accept()
    meeting_id = pair.propose()
    pair.confirm(meeting_id)
    pair.deliver()

    # Mia (English, London) gets the invite with the confirmation
    mail, calendar, invite = invite_in(inbox, "mia@example.org", "meeting_confirmed")
    assert (calendar.method, invite.status) == ("REQUEST", "CONFIRMED")
    assert invite.summary == "Get-to-know-you meeting: Mia Mentee & Max Mentor"
    assert invite["dtstart"].params["TZID"] == "Europe/London"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/London"]
    assert "When: Monday, March 9, 2026, 9:00" in invite.description
    assert {str(a) for a in invite.attendees} == {"mailto:mia@example.org", "mailto:max@example.org"}
    assert str(invite.organizer) == "mailto:program@example.org"
    assert invite.url == f"{BASE_URL}/portal/meetings/{meeting_id}"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert "calendar invite is attached" in text.get_content()

    # Mia moves it a day later: Max (German, Berlin) gets the update, to confirm again
    later = pair.clock.now + timedelta(days=8)
    pair.as_user(
        pair.mentee_id,
        lambda s, u: meetings.reschedule(s, u, meeting_id, MeetingMove(starts_at=later), now=pair.clock.now),
    )
    pair.deliver()
    mail, calendar, update = invite_in(inbox, "max@example.org", "meeting_rescheduled")
    assert str(mail["Subject"]) == "Mia Mentee hat ein Treffen verschoben"
    assert (calendar.method, update.status) == ("REQUEST", "TENTATIVE")
    assert update.uid == invite.uid
    assert update.sequence > invite.sequence
    assert update.start == later
    assert update["dtstart"].params["TZID"] == "Europe/Berlin"
    assert update.summary.startswith("Kennenlerntreffen:")
    assert "Wann: Dienstag, 10. März 2026" in update.description

    # Max confirms the new time; then he calls it off: Mia's calendar loses it
    pair.confirm(meeting_id)
    pair.as_user(
        pair.mentor_id,
        lambda s, u: meetings.cancel(s, u, meeting_id, reason="Ill", now=pair.clock.now),
    )
    pair.deliver()
    confirmed = [m for m in inbox.to("mia@") if m["X-Mentorflow-Kind"] == "meeting_confirmed"]
    assert len(confirmed) == 2
    _, calendar, cancel = invite_in(inbox, "mia@example.org", "meeting_cancelled")
    assert (calendar.method, cancel.status) == ("CANCEL", "CANCELLED")
    assert cancel.uid == invite.uid
    assert cancel.sequence > update.sequence
    # Max confirmed, Mia moved, Max confirmed again and cancelled: his calendar followed each
    # step too, his own acts by a short mail of their own, in German and his zone
    assert [(k, str(c.method), str(e.status), e.sequence) for k, c, e in files_to(inbox, "max@")] == [
        ("meeting_calendar", "REQUEST", "CONFIRMED", invite.sequence),
        ("meeting_rescheduled", "REQUEST", "TENTATIVE", update.sequence),
        ("meeting_calendar", "REQUEST", "CONFIRMED", update.sequence + 1),
        ("meeting_calendar", "CANCEL", "CANCELLED", cancel.sequence),
    ]
    _, _, own_cancel = files_to(inbox, "max@")[-1]
    assert own_cancel.uid == invite.uid
    assert own_cancel["dtstart"].params["TZID"] == "Europe/Berlin"
    assert "Sie haben Ihr Treffen mit Mia Mentee abgesagt." in plain(inbox.to("max@")[-1])
    # mails about other things carry no calendar
    request = inbox.to("max@example.org")[0]
    assert request["X-Mentorflow-Kind"] == "request_received"
    assert list(request.iter_attachments()) == []


def files_to(inbox: Inbox, address: str) -> list[tuple[str, Calendar, Event]]:
    """Every calendar file mailed to ``address``, in the order sent: (mail kind, file, event)."""
    found = []
    for mail in inbox.to(address):
        for part in mail.iter_attachments():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_content())
                (event,) = calendar.events
                found.append((str(mail["X-Mentorflow-Kind"]), calendar, event))
    return found


def plain(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_each_mail_tells_its_own_event_even_when_moves_follow_before_it_is_written(
    pair: Pair, inbox: Inbox
) -> None:
    """Proposed, moved by Mia, confirmed by Max, moved by Max: all before one mail was written.
    Each mail and its calendar file show the time its event set; each side gets one file per
    event that changes their calendar, the actor too ("Your calendar entry")."""
    pair.request()
    pair.accept()
    pair.deliver()
    first, second, third = (pair.clock.now + timedelta(days=d) for d in (7, 8, 9))
    meeting_id = pair.propose(first - pair.clock.now)

    def move(user_id: int, to: datetime) -> None:
        pair.as_user(
            user_id,
            lambda s, u: meetings.reschedule(s, u, meeting_id, MeetingMove(starts_at=to), now=pair.clock.now),
        )

    move(pair.mentee_id, second)
    pair.confirm(meeting_id)
    move(pair.mentor_id, third)
    pair.deliver()

    # Max (German, Berlin): the proposal at its own time, Mia's move asking him to confirm
    (proposed,) = [m for m in inbox.to("max@") if m["X-Mentorflow-Kind"] == "meeting_proposed"]
    assert "Wann: Montag, 9. März 2026, 10:00" in plain(proposed)
    assert "10. März" not in plain(proposed)
    assert "11. März" not in plain(proposed)
    moved_by_mia = plain(invite_in(inbox, "max@example.org", "meeting_rescheduled")[0])
    assert "Wann: Dienstag, 10. März 2026, 10:00" in moved_by_mia
    assert "Bitte bestätigen Sie die neue Zeit" in moved_by_mia
    # Mia (English, London): the confirmation of the second time, then Max's move, confirmed
    confirmed = plain(invite_in(inbox, "mia@example.org", "meeting_confirmed")[0])
    assert "When: Tuesday, March 10, 2026, 9:00" in confirmed
    moved_by_max = plain(invite_in(inbox, "mia@example.org", "meeting_rescheduled")[0])
    assert "When: Wednesday, March 11, 2026, 9:00" in moved_by_max
    assert "moved the meeting planned for Tuesday, March 10, 2026, 9:00" in moved_by_max
    assert "The new time is confirmed." in moved_by_max
    assert "Please confirm" not in moved_by_max

    # the files, in the order each reader got them: what each event made of the meeting
    def seen(address: str) -> list[tuple[str, str, str, date | datetime, int]]:
        return [
            (kind, str(cal.method), str(ev.status), ev.start, ev.sequence)
            for kind, cal, ev in files_to(inbox, address)
        ]

    assert seen("max@example.org") == [
        ("meeting_rescheduled", "REQUEST", "TENTATIVE", second, 2),
        ("meeting_calendar", "REQUEST", "CONFIRMED", second, 3),
        ("meeting_calendar", "REQUEST", "CONFIRMED", third, 4),
    ]
    assert seen("mia@example.org") == [
        ("meeting_confirmed", "REQUEST", "CONFIRMED", second, 3),
        ("meeting_rescheduled", "REQUEST", "CONFIRMED", third, 4),
    ]
    own = [m for m in inbox.to("max@") if m["X-Mentorflow-Kind"] == "meeting_calendar"]
    assert [str(m["Subject"]) for m in own] == ["Ihr Kalendereintrag: Treffen mit Mia Mentee"] * 2
    assert "Sie haben Ihr Treffen mit Mia Mentee bestätigt." in plain(own[0])
    assert "Wann: Dienstag, 10. März 2026, 10:00" in plain(own[0])
    assert "Sie haben Ihr Treffen mit Mia Mentee verschoben." in plain(own[1])
    assert "Wann: Mittwoch, 11. März 2026, 10:00" in plain(own[1])
    (_, _, max_file), (_, _, mia_file) = files_to(inbox, "max@")[-1], files_to(inbox, "mia@")[-1]
    assert max_file["dtstart"].params["TZID"] == "Europe/Berlin"
    assert mia_file["dtstart"].params["TZID"] == "Europe/London"
    assert max_file.uid == mia_file.uid

    # delivered again, the events write no second mail
    sent = len(inbox.messages)
    pair.redeliver_all()
    send_pending_mail.fn()
    assert len(inbox.messages) == sent


def test_a_declined_move_leaves_the_calendar_it_was_in_and_no_other(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept()
    never_confirmed = pair.propose()
    moved = pair.propose(timedelta(days=9))
    pair.confirm(moved)
    later = pair.clock.now + timedelta(days=10)
    pair.as_user(
        pair.mentee_id,
        lambda s, u: meetings.reschedule(s, u, moved, MeetingMove(starts_at=later), now=pair.clock.now),
    )
    for meeting_id in (never_confirmed, moved):
        pair.as_user(
            pair.mentor_id,
            lambda s, u, m=meeting_id: meetings.decline(s, u, m, reason="Away", now=pair.clock.now),  # type: ignore[misc]
        )
    pair.deliver()

    mails = [m for m in inbox.to("mia@example.org") if m["X-Mentorflow-Kind"] == "meeting_declined"]
    with_file = [m for m in mails if list(m.iter_attachments())]
    assert len(mails) == 2
    assert len(with_file) == 1
    text = with_file[0].get_body(preferencelist=("plain",))
    assert text is not None
    assert "removes it from your calendar" in text.get_content()
    (part,) = list(with_file[0].iter_attachments())
    calendar = Calendar.from_ical(part.get_content())
    (event,) = calendar.events
    assert (calendar.method, event.status, event.uid) == (
        "CANCEL",
        "CANCELLED",
        f"meeting-{moved}@mentoring.example.org",
    )
    # Max declined both: his calendar held only the confirmed one, and loses it too
    assert [(k, str(c.method), e.uid) for k, c, e in files_to(inbox, "max@")] == [
        ("meeting_calendar", "REQUEST", event.uid),  # he confirmed it
        ("meeting_rescheduled", "REQUEST", event.uid),  # Mia moved it
        ("meeting_calendar", "CANCEL", event.uid),  # he declined it
    ]


def test_the_other_side_hears_when_one_side_answers_for_attendance(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept()
    meeting_id = pair.propose()
    pair.confirm(meeting_id)
    pair.clock.advance(days=7, hours=2)
    pair.attend(meeting_id, pair.mentee_id)
    pair.deliver()

    with Session(pair.engine) as session:
        news = session.scalars(
            select(Notification).where(Notification.user_id == pair.mentor_id).order_by(Notification.id)
        ).all()
    assert news[-1].kind == "attendance_confirmed"
    assert news[-1].params["other_name"] == "Mia Mentee"
    assert news[-1].params["path"] == f"/portal/meetings/{meeting_id}"
    assert "attendance_confirmed" not in inbox.kinds()  # a notification, not a mail


def test_calling_off_a_meeting_that_was_never_in_ones_calendar_sends_oneself_no_file(
    pair: Pair, inbox: Inbox
) -> None:
    pair.request()
    pair.accept()
    meeting_id = pair.propose()
    pair.as_user(
        pair.mentee_id,
        lambda s, u: meetings.cancel(s, u, meeting_id, reason="Clash", now=pair.clock.now),
    )
    pair.deliver()

    assert inbox.kinds("max@") == ["meeting_cancelled", "meeting_proposed", "request_received"]
    assert inbox.kinds("mia@") == ["request_accepted"]  # nothing about her own withdrawn proposal
