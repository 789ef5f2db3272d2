"""Mail text from Jinja2 templates, in the recipient's language, locale and time zone.

Each kind has ``templates/email/{kind}.txt`` (whose ``subject`` block is the subject line) and
``templates/email/{kind}.html``. Text is marked with ``{% trans %}`` / ``_()``
(``jinja2.ext.i18n``) and translated from the project's one catalogue
(``services.i18n.translations``). Dates and times go through the ``datetime`` and ``date``
filters, formatted by Babel for the recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from services.i18n import translations
from services.program import Program

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
FALLBACK_LOCALE = "en"
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Recipient:
    name: str
    locale: str
    timezone: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(
    kind: str, params: dict[str, Any], *, recipient: Recipient, base_url: str, program: Program | None = None
) -> RenderedEmail:
    """Subject, plain text and HTML for one mail of ``kind`` to ``recipient``; the footer
    names the ``program`` and its contact address once operators set them."""
    locale = _locale(recipient.locale)
    env = _environment(str(locale.language))
    path = params.get("path")
    context = {
        **params,
        "recipient_name": recipient.name,
        "base_url": base_url.rstrip("/"),
        "url": f"{base_url.rstrip('/')}{path}" if path else base_url,
        "_locale": locale,
        "_timezone": _zone(recipient.timezone),
        "program_name": program.name if program else "",
        "program_contact": program.contact_email if program else "",
    }
    text_template = env.get_template(f"email/{kind}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=_BLANK_LINES.sub("\n\n", text_template.render(context)).strip() + "\n",
        html=env.get_template(f"email/{kind}.html").render(context),
    )


def _locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(FALLBACK_LOCALE)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@lru_cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["datetime"] = _format_datetime
    env.filters["date"] = _format_date
    return env


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@pass_context
def _format_datetime(context: Context, value: datetime | str) -> str:
    """``Wednesday, March 5, 2025, 2:00 PM (Central European Standard Time)`` for the reader."""
    locale: Locale = context["_locale"]
    local = _as_datetime(value).astimezone(context["_timezone"])
    pattern = str(get_datetime_format("long", locale=locale)).replace("'", "")
    moment = pattern.format(
        format_time(local, "short", locale=locale), format_date(local, "full", locale=locale)
    )
    return f"{moment} ({get_timezone_name(local, 'long', locale=locale)})"


@pass_context
def _format_date(context: Context, value: date | datetime | str) -> str:
    locale: Locale = context["_locale"]
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(context["_timezone"]).date()
    return format_date(value, "long", locale=locale)
