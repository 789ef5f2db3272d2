"""The reader of a portal page: their language, how dates look for them, and their time zone.

The language comes from the browser (``Accept-Language``, as on every HTML page); the time
zone is the signed-in person's ``User.timezone``. Times are stored in UTC and shown, and typed
into ``datetime-local`` inputs, in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_timezone_name
from babel.numbers import format_decimal, format_percent
from starlette.requests import Request

from api.i18n import request_locale
from services.i18n import SUPPORTED_LOCALES, local_moment

INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _formatting_locale(request: Request, language: str) -> Locale:
    """``en_GB`` for a British browser reading English: the region shapes dates, not words."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        try:
            locale = Locale.parse(tag) if tag else None
        except (ValueError, UnknownLocaleError):
            continue
        if locale is not None and locale.language == language:
            return locale
    return Locale.parse(language)


@dataclass(frozen=True)
class Reader:
    language: str
    locale: Locale
    zone: ZoneInfo

    @classmethod
    def of(cls, request: Request, timezone: str, chosen_language: str = "") -> Reader:
        """The person's chosen language, else their browser's; their zone."""
        language = chosen_language if chosen_language in SUPPORTED_LOCALES else request_locale(request)
        return cls(language, _formatting_locale(request, language), zone_of(timezone))

    def when(self, moment: datetime | str) -> str:
        """``5 Mar 2026, 14:00`` / ``05.03.2026, 14:00`` in the reader's zone."""
        return local_moment(self.local(moment), self.locale)

    def day(self, value: date | datetime | str) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            value = self.local(value).date()
        return format_date(value, "medium", locale=self.locale)

    def month(self, year_month: str) -> str:
        """``2026-11`` as ``November 2026`` / ``November 2026`` (a calendar month, no zone)."""
        first = date.fromisoformat(f"{year_month}-01")
        return str(format_date(first, "LLLL yyyy", locale=self.locale))

    def number(self, value: float) -> str:
        """``12.25`` as ``12.25`` / ``12,25`` for the reader (two decimals at most)."""
        return str(format_decimal(value, format="#,##0.##", locale=self.locale))

    def percent(self, share: float) -> str:
        """``0.67`` as ``67%`` / ``67 %`` for the reader."""
        return str(format_percent(share, locale=self.locale))

    def zone_name(self, moment: datetime) -> str:
        return str(get_timezone_name(self.local(moment), "long", locale=self.locale))

    def local(self, moment: datetime | str) -> datetime:
        value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return value.astimezone(self.zone)

    def input_value(self, moment: datetime) -> str:
        return self.local(moment).strftime(INPUT_FORMAT)

    def parse_input(self, value: str) -> datetime | None:
        """A ``datetime-local`` value read as wall time in the reader's zone; ``None`` if unreadable."""
        try:
            naive = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if naive.tzinfo is not None:
            return None
        return naive.replace(tzinfo=self.zone)
