"""The reader's locale, from ``Accept-Language`` (or the signed-in user's setting)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from fastapi import Request

from services.i18n import SUPPORTED_LOCALES


def request_locale(request: Request) -> str:
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if not tag:
            continue
        try:
            language = Locale.parse(tag).language
        except (ValueError, UnknownLocaleError):
            continue
        if language in SUPPORTED_LOCALES:
            return language
    return "en"
