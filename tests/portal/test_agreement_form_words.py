"""The agreement form's refusals say what is wrong, in the reader's language (no browser)."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from api.portal.forms import agreement_terms
from services.errors import Invalid

GOOD = {
    "period_start": "2026-03-05",
    "period_end": "2026-09-30",
    "planned_meetings": "6",
    "contact_modes": "video",
    "contact_frequency": "every two weeks",
    "plan_topic_0": "career",
    "plan_notes_0": "",
}
CASES = {
    "end before start": (
        {"period_end": "2026-03-01"},
        "The end of the period must not be before its start.",
        "Das Ende des Zeitraums darf nicht vor seinem Beginn liegen.",
    ),
    "no start": (
        {"period_start": ""},
        "Enter the start of the period as a date.",
        "Geben Sie den Beginn des Zeitraums als Datum an.",
    ),
    "no meetings": (
        {"planned_meetings": "0"},
        "The planned meetings must be a whole number from 1 to 200.",
        "Die geplanten Treffen müssen eine ganze Zahl von 1 bis 200 sein.",
    ),
    "no contact mode": (
        {"contact_modes": ""},
        "Choose at least one way of keeping in touch.",
        "Wählen Sie mindestens einen Weg, in Kontakt zu bleiben.",
    ),
    "notes without a topic": (
        {"plan_topic_0": "", "plan_notes_0": "first steps"},
        "Give each row of the content plan a topic",
        "Geben Sie jeder Zeile des Inhaltsplans ein Thema",
    ),
}


def form(**changes: str) -> FormData:
    """As a browser sends it: every field, empty or not, but no unticked checkbox."""
    fields = {**GOOD, **changes}
    return FormData([(name, value) for name, value in fields.items() if value or name != "contact_modes"])


@pytest.mark.parametrize("case", list(CASES))
def test_each_field_error_says_what_is_wrong_in_english_and_german(case: str) -> None:
    changes, english, german = CASES[case]
    for language, words in (("en", english), ("de", german)):
        with pytest.raises(Invalid) as refused:
            agreement_terms(form(**changes), language)
        assert words in refused.value.message, (language, refused.value.message)
        assert "Please check" not in refused.value.message


def test_two_errors_are_both_said_and_good_terms_pass() -> None:
    with pytest.raises(Invalid) as refused:
        agreement_terms(form(planned_meetings="many", contact_frequency=""), "en")
    assert refused.value.message == (
        "The planned meetings must be a whole number from 1 to 200. "
        "Say how often you will be in touch, in at most 200 characters."
    )
    assert agreement_terms(form(), "en").planned_meetings == 6
