"""Jinja2 templates for the HTML pages (verification page, portal), in the reader's language.

Text is marked with ``_()`` / ``{% trans %}`` (``jinja2.ext.i18n``) and translated from the one
catalogue (``services.i18n.translations``) for the language of the request being answered
(``Accept-Language``, or ``language`` in the template context). ``reader_language()`` gives it
for ``<html lang>``, and the ``date`` filter formats a date for that reader.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import jinja2
from babel.dates import format_date
from fastapi.templating import Jinja2Templates
from jinja2.runtime import Context
from starlette.requests import Request

from api.i18n import request_locale
from services.i18n import SOURCE_LANGUAGE, translations


@jinja2.pass_context
def reader_language(context: Context) -> str:
    language = context.get("language")
    if isinstance(language, str):
        return language
    request = context.get("request")
    return request_locale(request) if isinstance(request, Request) else SOURCE_LANGUAGE


@jinja2.pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(reader_language(context)).gettext(message)


@jinja2.pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(reader_language(context)).ngettext(singular, plural, n)


@jinja2.pass_context
def _format_date(context: Context, value: date | str) -> str:
    """``March 1, 2026`` / ``1. März 2026``, from a date or an ISO date string."""
    day = datetime.fromisoformat(value).date() if isinstance(value, str) else value
    return format_date(day, "long", locale=reader_language(context))


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
_env.globals["reader_language"] = reader_language
_env.filters["date"] = _format_date
templates = Jinja2Templates(env=_env)
