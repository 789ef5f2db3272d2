"""``.ics`` invites for confirmed meetings (RFC 5545, via the icalendar library)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from models import Meeting, Mentorship


def meeting_invite(
    meeting: Meeting, mentorship: Mentorship, *, base_url: str, topic_names: Sequence[str] = ()
) -> bytes:
    """``topic_names``: the meeting's topics as the reader reads them (never catalogue slugs)."""
    cal = Calendar()
    cal.add("prodid", "-//mentorflow//meetings//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    host = base_url.split("//", 1)[-1].split("/", 1)[0] or "mentorflow"
    event.add("uid", f"meeting-{meeting.id}@{host}")
    event.add("sequence", meeting.version)
    event.add("dtstamp", meeting.decided_at or meeting.created_at)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + timedelta(minutes=meeting.duration_minutes))
    kind = (
        "Get-to-know-you meeting"
        if meeting.is_intro
        else "Final meeting"
        if meeting.is_final
        else "Mentoring meeting"
    )
    event.add("summary", f"{kind}: {mentorship.mentee.display_name} & {mentorship.mentor.display_name}")
    description = meeting.agenda
    if topic_names:
        description += "\n\nTopics: " + ", ".join(topic_names)
    event.add("description", description.strip())
    if meeting.location:
        event.add("location", meeting.location)
    event.add("url", f"{base_url.rstrip('/')}/portal/mentorships/{mentorship.id}")
    event.add("status", "CONFIRMED")
    for person in (mentorship.mentee, mentorship.mentor):
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.display_name)
        event.add("attendee", attendee)
    cal.add_component(event)
    ical: bytes = cal.to_ical()
    return ical
