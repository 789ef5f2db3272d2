"""Words people read, in their language: one gettext catalogue per language, for everyone.

Mark a message id with ``_`` where it is written (``_("No such meeting.")`` in Python,
``{{ _("…") }}`` / ``{% trans %}`` in Jinja templates) and translate it where it is read, for
the reader: ``translate`` for domain messages (problem details, what a mentorship waits for),
``translations(language)`` for Jinja2's i18n extension (mails, the certificate, HTML pages).

The catalogues are ``services/locale/<lang>/LC_MESSAGES/messages.po`` (one domain,
``messages``; English is the source language). ``services/locale/babel.cfg`` says how to
extract and update them. They are read as ``.po`` and compiled in memory on first use, so no
binary ``.mo`` lives in git.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
SUPPORTED_LOCALES = ("en", "de")


def _(message: str) -> str:
    """Mark a message id for extraction (``pybabel extract``); translation happens later."""
    return message


class Term(str):
    """A placeholder value that is itself a message id, e.g. ``action=Term(fact)``.

    ``translate`` translates it along with the message. It formats as the English id it
    holds, so the untranslated (English) text stays exactly the same.
    """

    __slots__ = ()


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (``"de"``; ``"de_AT"`` or ``"de-AT"`` mean ``"de"``).

    A ``gettext.GNUTranslations`` of the standard library on purpose, not Babel's class:
    Babel's ``NullTranslations`` defines ``ugettext`` as an alias of the base ``gettext``, and
    Jinja2's i18n extension prefers ``ugettext`` when it exists, so a Babel-based object that
    overrides ``gettext`` (a chain, a fallback table) is silently ignored by templates.
    English, and any language without a catalogue, get the message ids back unchanged.
    """
    language = language.replace("-", "_").split("_")[0].lower()
    catalogue = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE_LANGUAGE or not catalogue.is_file():
        return gettext.NullTranslations()
    with catalogue.open("rb") as po:
        messages = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, messages)  # leaves out fuzzy and untranslated entries
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(message: str, language: str, **params: object) -> str:
    """``message`` in ``language``, its ``{placeholders}`` filled; ``Term`` values translated too."""
    catalogue = translations(language)
    text = catalogue.gettext(message)
    if not params:
        return text
    return text.format(
        **{
            name: catalogue.gettext(value) if isinstance(value, Term) else value
            for name, value in params.items()
        }
    )


def moment(value: datetime | str, language: str, timezone: str) -> str:
    """A point in time as a reader of ``language`` in ``timezone`` (a zone name; UTC if
    unknown) reads it in a sentence: ``Dec 3, 2026, 10:00 AM`` / ``03.12.2026, 10:00``, the way
    the portal shows times. ``value`` may be ISO text, as events and params hold it."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse(SOURCE_LANGUAGE)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(zone)
    return local_moment(local, locale)


def local_moment(local: datetime, locale: Locale) -> str:
    """An already local time in ``locale``'s medium date and short time (the portal's and the
    mails' one format)."""
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    return pattern.format(
        format_time(local, "short", locale=locale), format_date(local, "medium", locale=locale)
    )
