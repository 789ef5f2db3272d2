"""How far from today a date may lie: within what every part can show and compute with.

The database, the mails, the calendar files and the certificates all handle any date a
mentoring programme needs, but not any date a client can type: a meeting at
``9999-12-31T23:59:59Z`` was stored, and from then on its end time (start + duration)
overflowed in every reader, and the mentorship's event handling failed on every pass. So
dates are refused (422) beyond what a programme plausibly plans, long before they near the
edge of what ``datetime`` can hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.errors import Invalid
from services.i18n import _

#: A meeting is planned at most this far ahead.
MEETING_HORIZON = timedelta(days=2 * 366)
#: An agreement's period starts at most this long before today (an amendment keeps the
#: start of the mentorship it amends) ...
PERIOD_START_BACK = timedelta(days=5 * 366)
#: ... at most this far after today ...
PERIOD_START_AHEAD = timedelta(days=2 * 366)
#: ... and lasts at most this long.
LONGEST_PERIOD = timedelta(days=5 * 366)


def check_meeting_start(starts_at: datetime, *, now: datetime) -> datetime:
    """``starts_at`` in UTC, if it lies before the horizon; else ``Invalid`` naming the field."""
    try:
        in_utc = starts_at.astimezone(UTC)
        beyond = in_utc - now > MEETING_HORIZON
    except (OverflowError, ValueError):  # an offset that pushes it past year 9999 (or 1)
        beyond = True
    if beyond:
        raise Invalid(_("A meeting can be planned up to two years ahead."), loc=("body", "starts_at"))
    return in_utc


def check_agreement_period(period_start: date, period_end: date, *, today: date) -> None:
    """``Invalid`` naming the field, if the period starts or lasts beyond the bounds."""
    if not today - PERIOD_START_BACK <= period_start <= today + PERIOD_START_AHEAD:
        raise Invalid(
            _("The period must start within five years before and two years after today."),
            loc=("body", "period_start"),
        )
    if period_end - period_start > LONGEST_PERIOD:
        raise Invalid(_("An agreement's period can last five years at most."), loc=("body", "period_end"))
