"""Reading the portal's HTML forms into the shapes the services take.

Limits come from the JSON API's schemas (``api.schemas``), so a form accepts exactly what the
API accepts; a value that does not fit is refused as ``Invalid`` naming the fields in the
reader's language. Whether the fact is allowed is still the services' call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from api.portal.reader import Reader
from api.schemas.common import OptionalReason, Reason
from api.schemas.mentorships import (
    Acceptance,
    AgreementWrite,
    ContactMode,
    FeedbackCreate,
    MeetingCreate,
    MeetingReschedule,
)
from api.schemas.surveys import ClosureWrite, FitWrite
from models import AgreementVersion
from services import catalogue
from services.agreements import AgreementTerms
from services.errors import Invalid
from services.i18n import _, translate
from services.meetings import MeetingMove, MeetingPlan
from services.surveys import Answer

Model = TypeVar("Model", bound=BaseModel)
PLAN_ROWS = 5  # content plan rows the agreement form offers (more if the version has more)
MAX_PLAN_ROWS = 50

FIELDS = {
    "starts_at": _("Date and time"),
    "duration_minutes": _("Duration (minutes)"),
    "mode": _("How you meet"),
    "location": _("Place or link"),
    "agenda": _("Agenda"),
    "topics": _("Topics"),
    "reason": _("Reason"),
    "message": _("Message"),
    "period_start": _("Start of period"),
    "period_end": _("End of period"),
    "planned_meetings": _("Planned meetings"),
    "contact_modes": _("Ways of keeping in touch"),
    "contact_frequency": _("How often you are in touch"),
    "content_plan": _("Content plan"),
    "notes": _("Notes"),
    "rating": _("Rating"),
    "comment": _("Comment"),
    "email": _("E-mail address"),
    "display_name": _("Name"),
    "roles": _("Roles"),
    "name": _("Name of the program"),
    "bio": _("About you"),
    "locale": _("Language"),
    "timezone": _("Time zone"),
    "mentee": _("Your goals and topics"),
    "mentor": _("Your offer, topics and number of mentees"),
    "contact_email": _("Contact address"),
    "answer": _("Continue together?"),
    "goals_reached": _("Goals reached"),
    "would_recommend": _("Would you recommend the program?"),
}


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def checked(model: type[Model], data: dict[str, Any], language: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as refused:
        names = dict.fromkeys(str(e["loc"][0]) for e in refused.errors() if e["loc"])
        fields = ", ".join(translate(FIELDS.get(n, n), language) for n in names)
        raise Invalid(_("Please check: {fields}."), fields=fields) from None


def ids(form: FormData, name: str) -> list[int]:
    """The whole numbers among the values of ``name`` (checkbox ids); anything else is ignored."""
    return [int(v) for v in texts(form, name) if v.isdigit() and len(v) < 10]


def meeting_plan(form: FormData, reader: Reader, picked: Sequence[tuple[str, str]] = ()) -> MeetingPlan:
    """``starts_at`` comes from a ``datetime-local`` input, read in the reader's time zone;
    ``picked`` catalogue questions ``(topic slug, text)`` join the agenda and their topics."""
    agenda, topics = catalogue.with_questions(text(form, "agenda"), texts(form, "topics"), picked)
    data = {
        "starts_at": reader.parse_input(text(form, "starts_at")),
        "duration_minutes": text(form, "duration_minutes"),
        "mode": text(form, "mode"),
        "location": text(form, "location"),
        "agenda": agenda,
        "topics": topics,
        "is_final": text(form, "is_final") == "yes",
    }
    return checked(MeetingCreate, data, reader.language).plan()


def meeting_move(form: FormData, reader: Reader) -> MeetingMove:
    """The "move this meeting" form: every field is sent, filled with the current values."""
    data = {
        "starts_at": reader.parse_input(text(form, "starts_at")),
        "duration_minutes": text(form, "duration_minutes"),
        "mode": text(form, "mode"),
        "location": text(form, "location"),
    }
    if data["starts_at"] is None:
        raise Invalid(_("Please check: {fields}."), fields=translate(FIELDS["starts_at"], reader.language))
    return checked(MeetingReschedule, data, reader.language).move()


def reason(form: FormData, language: str, *, required: bool) -> str:
    data = {"reason": text(form, "reason")}
    if required:
        return checked(Reason, data, language).reason
    return checked(OptionalReason, data, language).reason


def message(form: FormData, language: str) -> str:
    found = text(form, "message")
    if not found or len(found) > 4000:
        raise Invalid(_("Please check: {fields}."), fields=translate(FIELDS["message"], language))
    return found


def acceptance_message(form: FormData, language: str) -> str | None:
    """The mentor's optional words on accepting; too long is refused, naming the field."""
    return checked(Acceptance, {"message": text(form, "message")}, language).message or None


def feedback(form: FormData, language: str) -> FeedbackCreate:
    return checked(
        FeedbackCreate, {"rating": text(form, "rating"), "comment": text(form, "comment")}, language
    )


def fit(form: FormData, language: str) -> Answer:
    sent = {"answer": text(form, "answer"), "comment": text(form, "comment")}
    return checked(FitWrite, sent, language).given()


def closure(form: FormData, language: str) -> Answer:
    sent = {name: text(form, name) for name in ("goals_reached", "would_recommend", "comment")}
    return checked(ClosureWrite, sent, language).given()


def number(form: FormData, name: str) -> int:
    found = text(form, name)
    return int(found) if found.isdigit() and len(found) < 9 else 0


def agreement_terms(form: FormData, language: str) -> AgreementTerms:
    rows = [row for row in _plan_rows(form) if row["topic"] or row["notes"]]
    data = {
        "period_start": text(form, "period_start") or None,
        "period_end": text(form, "period_end") or None,
        "planned_meetings": text(form, "planned_meetings"),
        "contact_modes": texts(form, "contact_modes"),
        "contact_frequency": text(form, "contact_frequency"),
        "content_plan": rows,
        "notes": text(form, "notes"),
    }
    try:
        return AgreementWrite.model_validate(data).terms()
    except ValidationError as refused:
        said = dict.fromkeys(_agreement_error(e) for e in refused.errors())
        raise Invalid(" ".join(translate(m, language) for m in said)) from None


#: What is wrong with a field of the agreement form, in words (the same for any way it is wrong,
#: except where the words differ: an end before the start, a content plan of too many rows).
AGREEMENT_ERRORS = {
    "period_start": _("Enter the start of the period as a date."),
    "period_end": _("Enter the end of the period as a date."),
    "planned_meetings": _("The planned meetings must be a whole number from 1 to 200."),
    "contact_modes": _("Choose at least one way of keeping in touch."),
    "contact_frequency": _("Say how often you will be in touch, in at most 200 characters."),
    "content_plan": _(
        "Give each row of the content plan a topic (at most 200 characters; notes at most 4,000)."
    ),
    "notes": _("The notes can be at most 8,000 characters long."),
}
END_BEFORE_START = _("The end of the period must not be before its start.")
PLAN_TOO_LONG = _("The content plan can have at most 50 topics.")


def _agreement_error(error: Any) -> str:
    loc = error.get("loc") or ("",)
    field = str(loc[0])
    if field == "period_end" and error.get("type") == "value_error":
        return END_BEFORE_START
    if field == "content_plan" and len(loc) == 1 and error.get("type") == "too_long":
        return PLAN_TOO_LONG
    return AGREEMENT_ERRORS.get(field, _("Please check the agreement's terms."))


def _plan_rows(form: FormData) -> list[dict[str, str]]:
    count = next((i for i in range(MAX_PLAN_ROWS) if f"plan_topic_{i}" not in form), MAX_PLAN_ROWS)
    return [
        {"topic": text(form, f"plan_topic_{i}"), "notes": text(form, f"plan_notes_{i}")} for i in range(count)
    ]


CONTACT_MODES = [mode.value for mode in ContactMode]


def agreement_defaults(base: AgreementVersion | None, today: date) -> dict[str, Any]:
    """What the draft form starts with: the reader's draft, else the version in force, else a plan."""
    if base is None:
        return {
            "period_start": today.isoformat(),
            "period_end": (today + timedelta(days=182)).isoformat(),
            "planned_meetings": 6,
            "contact_modes": ["video"],
            "contact_frequency": "",
            "plan": [{"topic": "", "notes": ""}] * PLAN_ROWS,
            "notes": "",
        }
    plan = [{"topic": str(r.get("topic", "")), "notes": str(r.get("notes", ""))} for r in base.content_plan]
    return {
        "period_start": base.period_start.isoformat(),
        "period_end": base.period_end.isoformat(),
        "planned_meetings": base.planned_meetings,
        "contact_modes": list(base.contact_modes),
        "contact_frequency": base.contact_frequency,
        "plan": plan + [{"topic": "", "notes": ""}] * max(0, PLAN_ROWS - len(plan)),
        "notes": base.notes,
    }


def agreement_refill(form: FormData) -> dict[str, Any]:
    """The values just sent, to show the form again after a refusal."""
    return {
        "period_start": text(form, "period_start"),
        "period_end": text(form, "period_end"),
        "planned_meetings": text(form, "planned_meetings"),
        "contact_modes": texts(form, "contact_modes"),
        "contact_frequency": text(form, "contact_frequency"),
        "plan": _plan_rows(form),
        "notes": text(form, "notes"),
    }
