"""The program's figures as CSV files that a spreadsheet opens as they are.

UTF-8 with a byte-order mark (without it, a common spreadsheet reads "Jörg" as "JÃ¶rg"), a
header row, commas, and times as ``YYYY-MM-DD HH:MM`` in the reader's time zone, named in
the header. A cell that begins like a formula (``=``, ``+``, ``-``, ``@``) gets a leading
apostrophe, so a participant's name cannot run as one on an operator's machine.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Meeting, Mentorship, Survey
from services.i18n import translate
from services.listing import Filters, Row, list_mentorships
from services.surveys import answered_per_mentorship

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | bool | datetime | None


def mentorships_csv(
    session: Session, *, now: datetime, filters: Filters, zone: ZoneInfo, language: str
) -> str:
    """Every mentorship that matches ``filters``: stage, dates, meetings held (all, and those the
    agreement counts, of planned), who
    the next step waits for, since when, and how many of the pair answered the fit question
    and the closure survey (0–2: that they answered, never what)."""
    rows = list_mentorships(session, now=now, filters=filters, limit=None).rows
    answered = answered_per_mentorship(session)
    header = [
        "id",
        "mentee",
        "mentor",
        "stage",
        *(f"{name} ({zone.key})" for name in ("requested", "accepted", "activated", "finished")),
        "meetings_held",  # every one, the get-to-know-you meeting too (as the certificate counts)
        "agreed_meetings_held",  # those the agreement counts (as "2 of 6 agreed meetings held")
        "meetings_planned",
        "waiting_for",
        "next_step",
        f"waiting_since ({zone.key})",
        "overdue",
        "fit_answered",
        "closure_answered",
    ]
    lines = (
        [
            *_mentorship_line(row, zone, language),
            *(answered.get((row.mentorship.id, survey.value), 0) for survey in (Survey.FIT, Survey.CLOSURE)),
        ]
        for row in rows
    )
    return to_csv(header, lines, zone)


def meetings_csv(session: Session, *, zone: ZoneInfo) -> str:
    """Every meeting, oldest first: its pair, kind, status, time and both attendance answers."""
    meetings = session.scalars(select(Meeting).order_by(Meeting.starts_at, Meeting.id))
    pairs = {m.id: m for m in session.scalars(select(Mentorship)).unique()}
    header = [
        "id",
        "mentorship_id",
        "mentee",
        "mentor",
        "kind",
        "status",
        f"starts ({zone.key})",
        "duration_minutes",
        "mode",
        "mentee_attended",
        "mentor_attended",
    ]
    lines = (_meeting_line(meeting, pairs[meeting.mentorship_id]) for meeting in meetings)
    return to_csv(header, lines, zone)


def to_csv(header: Sequence[str], lines: Iterable[Sequence[Cell]], zone: ZoneInfo) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(value, zone) for value in line] for line in lines)
    return out.getvalue()


def _mentorship_line(row: Row, zone: ZoneInfo, language: str) -> list[Cell]:
    m, agreement, waiting = row.mentorship, row.snap.current_agreement, row.waiting
    return [
        m.id,
        m.mentee.display_name,
        m.mentor.display_name,
        m.stage,
        m.requested_at,
        m.accepted_at,
        m.activated_at,
        m.finished_at,
        row.snap.meetings_held,
        row.snap.regular_meetings_held,
        None if agreement is None else agreement.planned_meetings,
        None if waiting is None else waiting.who,
        None if waiting is None else translate(waiting.what, language, **_readable(waiting.params, zone)),
        row.since,
        row.overdue,
    ]


def _meeting_line(meeting: Meeting, pair: Mentorship) -> list[Cell]:
    mentee, mentor = meeting.attendance_of(pair.mentee_id), meeting.attendance_of(pair.mentor_id)
    kind = "intro" if meeting.is_intro else "final" if meeting.is_final else "regular"
    return [
        meeting.id,
        pair.id,
        pair.mentee.display_name,
        pair.mentor.display_name,
        kind,
        meeting.status,
        meeting.starts_at,
        meeting.duration_minutes,
        meeting.mode,
        None if mentee is None else mentee.attended,
        None if mentor is None else mentor.attended,
    ]


def _readable(params: dict[str, object], zone: ZoneInfo) -> dict[str, object]:
    starts = params.get("starts_at")
    if isinstance(starts, str):
        return {**params, "starts_at": _cell(datetime.fromisoformat(starts), zone)}
    return params


def _cell(value: Cell, zone: ZoneInfo) -> str | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
