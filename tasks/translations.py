"""Translations for the certificate: the project's Babel catalogue first, then a built-in table.

English is the source language (the message ids). The project catalogue (``services.i18n``,
``api/locale/<lang>/LC_MESSAGES/messages.mo``) wins whenever it translates a message; until
the certificate's messages are extracted into it, the German table below fills in.
"""

from __future__ import annotations

import gettext
from functools import lru_cache

from babel.support import NullTranslations

from services.i18n import translations as catalogue_translations

BUILT_IN: dict[str, dict[str, str]] = {
    "de": {
        "Confirmation of participation": "Teilnahmebestätigung",
        "Mentoring program": "Mentoring-Programm",
        "This is to confirm that": "Hiermit wird bestätigt, dass",
        "took part in the mentoring program as a mentee from %(start)s to %(end)s, "
        "accompanied by the mentor %(other)s.": "vom %(start)s bis zum %(end)s als Mentee am "
        "Mentoring-Programm teilgenommen hat und dabei von %(other)s als Mentor:in begleitet "
        "wurde.",
        "took part in the mentoring program as a mentor from %(start)s to %(end)s, "
        "accompanying the mentee %(other)s.": "vom %(start)s bis zum %(end)s als Mentor:in am "
        "Mentoring-Programm teilgenommen und dabei %(other)s als Mentee begleitet hat.",
        "Role": "Rolle",
        "Mentee": "Mentee",
        "Mentor": "Mentor:in",
        "Period": "Zeitraum",
        "Meetings held": "Stattgefundene Treffen",
        "No.": "Nr.",
        "Date": "Datum",
        "Topics": "Themen",
        "No meetings were recorded as held.": "Es wurden keine stattgefundenen Treffen erfasst.",
        "Topics covered": "Behandelte Themen",
        "No topics were recorded.": "Es wurden keine Themen erfasst.",
        "Verify this certificate": "Echtheit prüfen",
        "Scan the QR code or open": "QR-Code scannen oder aufrufen:",
        "Verification code": "Prüfcode",
        "Issued on %(date)s": "Ausgestellt am %(date)s",
        "Page": "Seite",
        "of": "von",
    },
}


class _Chained(gettext.NullTranslations):
    """``primary`` where it translates a message, else the built-in table.

    Based on the standard library's class on purpose: Babel's defines ``ugettext`` as an
    alias of the base ``gettext``, and Jinja2 prefers ``ugettext`` when it exists.
    """

    def __init__(self, primary: NullTranslations, table: dict[str, str]) -> None:
        super().__init__()
        self._primary = primary
        self._table = table

    def gettext(self, message: str) -> str:
        text = self._primary.gettext(message)
        return text if text != message else self._table.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        text = self._primary.ngettext(msgid1, msgid2, n)
        chosen = msgid1 if n == 1 else msgid2
        return text if text != chosen else self._table.get(chosen, chosen)


@lru_cache
def certificate_translations(language: str) -> gettext.NullTranslations:
    return _Chained(catalogue_translations(language), BUILT_IN.get(language, {}))
