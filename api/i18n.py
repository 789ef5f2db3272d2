"""The reader's language, from ``Accept-Language``; ``Language`` is the route dependency."""

from __future__ import annotations

from typing import Annotated

from babel import Locale, UnknownLocaleError
from fastapi import Depends, Request

from services.i18n import SOURCE_LANGUAGE, SUPPORTED_LOCALES


def request_locale(request: Request) -> str:
    """The first supported language in ``Accept-Language`` (in the client's order), else English."""
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
    return SOURCE_LANGUAGE


def browser_language(request: Request) -> str | None:
    """The language ``Accept-Language`` asks for (as ``request_locale``), None without the header."""
    return request_locale(request) if request.headers.get("accept-language", "").strip() else None


Language = Annotated[str, Depends(request_locale)]
