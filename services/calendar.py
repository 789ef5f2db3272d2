"""A meeting as a calendar file (RFC 5545), sent as an iTIP message (RFC 5546).

One meeting is one calendar event for its whole life: the same ``UID``, and a ``SEQUENCE``
that is the meeting's concurrency version, so every change (confirmed, moved, cancelled)
counts up and calendars replace what they hold instead of adding a second entry. The file
says what the meeting is now:

=====================  ===========  =================
meeting status         METHOD       STATUS
=====================  ===========  =================
confirmed, held        REQUEST      CONFIRMED
proposed (moved)       REQUEST      TENTATIVE
cancelled, declined    CANCEL       CANCELLED
missed                 (no file)
=====================  ===========  =================

The program's sender address organizes; both participants attend. Words and the times in the
description are in the reader's language and time zone; ``DTSTART`` carries the reader's
zone with its ``VTIMEZONE``. The API's download and the mails build the file here: a download
says what the meeting is now, a mail what its event said (``entry_of`` with ``as_of``: the
time, place, status and version the event recorded), so a move right after a confirmation is
its own, later file rather than rewriting the confirmation's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy.orm import Session

from models import Meeting, MeetingStatus, Mentorship, User
from services import catalogue
from services.errors import Conflict
from services.i18n import _, translate

REQUEST = "REQUEST"
CANCEL = "CANCEL"

_STATUS = {
    MeetingStatus.CONFIRMED: (REQUEST, "CONFIRMED"),
    MeetingStatus.HELD: (REQUEST, "CONFIRMED"),
    MeetingStatus.PROPOSED: (REQUEST, "TENTATIVE"),
    MeetingStatus.CANCELLED: (CANCEL, "CANCELLED"),
    MeetingStatus.DECLINED: (CANCEL, "CANCELLED"),
}
_KINDS = {
    "intro": _("Get-to-know-you meeting"),
    "final": _("Final meeting"),
    "regular": _("Mentoring meeting"),
}
_MODES = {"in_person": _("in person"), "video": _("video call"), "phone": _("phone call")}


@dataclass(frozen=True)
class Entry:
    """A meeting as one calendar file states it."""

    meeting_id: int
    status: str
    version: int  # the file's SEQUENCE
    starts_at: datetime
    duration_minutes: int
    mode: str
    location: str
    agenda: str
    topics: tuple[str, ...]
    is_intro: bool
    is_final: bool
    created_at: datetime


def entry_of(meeting: Meeting, as_of: Mapping[str, Any] | None = None) -> Entry:
    """The meeting as it is now, or as an event left it: ``as_of`` holds a mail's params
    (``starts_at`` as ISO text, ``duration_minutes``, ``mode``, ``location``, and
    ``meeting_status`` / ``meeting_version``); what it lacks (an older event) is taken from now."""
    given = as_of or {}
    starts_at = given.get("starts_at")
    return Entry(
        meeting_id=meeting.id,
        status=str(given.get("meeting_status") or meeting.status),
        version=int(given.get("meeting_version") or meeting.version),
        starts_at=datetime.fromisoformat(starts_at) if isinstance(starts_at, str) else meeting.starts_at,
        duration_minutes=int(given.get("duration_minutes") or meeting.duration_minutes),
        mode=str(given.get("mode") or meeting.mode),
        location=str(given.get("location", meeting.location) or ""),
        agenda=meeting.agenda,
        topics=tuple(meeting.topics),
        is_intro=meeting.is_intro,
        is_final=meeting.is_final,
        created_at=meeting.created_at,
    )


def has_calendar(meeting: Meeting | Entry) -> bool:
    """Whether the meeting has a calendar file at all (a missed meeting has none)."""
    return meeting.status in _STATUS


def calendar_for(
    session: Session,
    meeting: Meeting,
    reader: User,
    *,
    organizer: str,
    base_url: str,
    now: datetime,
    as_of: Mapping[str, Any] | None = None,
) -> bytes | None:
    """The meeting's calendar file as ``reader`` gets it now (or as of an event: ``entry_of``),
    or None if it has none."""
    entry = entry_of(meeting, as_of)
    if not has_calendar(entry):
        return None
    mentorship = session.get_one(Mentorship, meeting.mentorship_id)
    titles = catalogue.titles(session, _language(reader.locale))
    return meeting_calendar(
        entry,
        mentorship,
        reader=reader,
        organizer=organizer,
        base_url=base_url,
        now=now,
        topic_titles=titles,
    )


def download(
    session: Session, meeting: Meeting, reader: User, *, organizer: str, base_url: str, now: datetime
) -> bytes:
    """The file a participant downloads; a proposed meeting is not in calendars yet (and a
    missed one never was): ``Conflict``."""
    found = None
    if meeting.status != MeetingStatus.PROPOSED:
        found = calendar_for(session, meeting, reader, organizer=organizer, base_url=base_url, now=now)
    if found is None:
        raise Conflict(_("Only a confirmed or cancelled meeting has a calendar file."))
    return found


def meeting_calendar(
    meeting: Entry,
    mentorship: Mentorship,
    *,
    reader: User,
    organizer: str,
    base_url: str,
    now: datetime,
    topic_titles: Mapping[str, str] | None = None,
) -> bytes:
    """The meeting's calendar file for ``reader`` (a participant), stamped ``now``.

    ``organizer`` is the program's sender (``Name <address>``); ``topic_titles`` name the
    topics (slug → title), which otherwise show as their slugs.
    """
    method, status = _STATUS[MeetingStatus(meeting.status)]
    language = _language(reader.locale)
    zone = _zone(reader.timezone)
    cal = Calendar()
    cal.add("prodid", "-//mentorflow//meetings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = Event()
    event.add("uid", f"meeting-{meeting.meeting_id}@{_host(base_url)}")
    event.add("sequence", meeting.version)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("created", meeting.created_at.astimezone(UTC))
    starts_at = meeting.starts_at.astimezone(zone)
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + timedelta(minutes=meeting.duration_minutes))
    event.add("status", status)
    event.add("summary", _summary(meeting, mentorship, language))
    event.add("description", _description(meeting, language, zone, topic_titles or {}))
    if meeting.location:
        event.add("location", meeting.location)
    event.add("url", f"{base_url.rstrip('/')}/portal/meetings/{meeting.meeting_id}")
    event.add("organizer", _organizer(organizer))
    for person in (mentorship.mentee, mentorship.mentor):
        event.add("attendee", _attendee(person, accepted=status == "CONFIRMED"))
    cal.add_component(event)
    day = starts_at.date()  # the reader's zone, described around the meeting only
    cal.add_missing_timezones(first_date=day - timedelta(days=366), last_date=day + timedelta(days=366))
    ical: bytes = cal.to_ical()
    return ical


def _summary(meeting: Entry, mentorship: Mentorship, language: str) -> str:
    kind = "intro" if meeting.is_intro else "final" if meeting.is_final else "regular"
    names = f"{mentorship.mentee.display_name} & {mentorship.mentor.display_name}"
    return f"{translate(_KINDS[kind], language)}: {names}"


def _description(meeting: Entry, language: str, zone: ZoneInfo, titles: Mapping[str, str]) -> str:
    """When (in the reader's words and zone), how, agenda and topics, as plain lines."""
    local = meeting.starts_at.astimezone(zone)
    pattern = str(get_datetime_format("long", locale=language)).replace("'", "")
    moment = pattern.format(
        format_time(local, "short", locale=language), format_date(local, "full", locale=language)
    )
    when = f"{moment} ({get_timezone_name(local, 'long', locale=language)})"
    how = translate(_MODES.get(meeting.mode, meeting.mode), language)
    lines = [
        translate(_("When: {when}"), language, when=when),
        translate(_("How: {how}"), language, how=how),
    ]
    if meeting.agenda:
        lines += ["", translate(_("Agenda:"), language), meeting.agenda]
    if meeting.topics:
        topics = ", ".join(titles.get(t, t) for t in meeting.topics)
        lines += ["", translate(_("Topics: {topics}"), language, topics=topics)]
    return "\n".join(lines)


def _organizer(sender: str) -> vCalAddress:
    name, address = parseaddr(sender)
    organizer = vCalAddress(f"mailto:{address or 'mentorflow@localhost'}")
    organizer.params["cn"] = vText(name or "mentorflow")
    return organizer


def _attendee(person: User, *, accepted: bool) -> vCalAddress:
    attendee = vCalAddress(f"mailto:{person.email}")
    attendee.params["cn"] = vText(person.display_name)
    attendee.params["role"] = "REQ-PARTICIPANT"
    attendee.params["partstat"] = "ACCEPTED" if accepted else "NEEDS-ACTION"
    attendee.params["rsvp"] = "FALSE"  # answers go through the portal, not the calendar
    return attendee


def _host(base_url: str) -> str:
    return base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "mentorflow"


def _language(tag: str) -> str:
    try:
        return str(Locale.parse((tag or "en").replace("-", "_")).language)
    except (ValueError, UnknownLocaleError):
        return "en"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
