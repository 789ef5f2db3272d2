"""Translatable text: mark message ids with ``_`` where they are written, translate where read.

Domain code never formats user-facing text itself; it raises or returns a message id plus
parameters, and the API / templates translate them for the reader's locale with Babel.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "api" / "locale"
SUPPORTED_LOCALES = ("en", "de")


def _(message: str) -> str:
    """Mark a message id for extraction (``pybabel extract -k _``); translation happens later."""
    return message


@lru_cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale, "en"])


def translate(message: str, locale: str, **params: object) -> str:
    text = translations(locale).gettext(message)
    return text.format(**params) if params else text
