"""What changed between two agreement versions, without a database."""

from __future__ import annotations

from datetime import date
from typing import Any

from models import AgreementVersion
from services.agreement_changes import changes_between, history


def version(number: int, **terms: Any) -> AgreementVersion:
    base: dict[str, Any] = {
        "period_start": date(2026, 3, 1),
        "period_end": date(2026, 9, 30),
        "planned_meetings": 6,
        "contact_modes": ["video"],
        "contact_frequency": "monthly",
        "content_plan": [{"topic": "career", "notes": ""}],
        "notes": "",
    }
    return AgreementVersion(number=number, **{**base, **terms})


def test_the_same_terms_change_nothing_and_the_first_version_has_no_previous() -> None:
    v1, v2 = version(1), version(2)
    assert changes_between(v1, v2) == []
    assert [(e.agreement.number, e.previous, e.changes) for e in history([v1, v2])] == [
        (1, None, []),
        (2, 1, []),
    ]


def test_a_moved_start_is_a_period_change_and_a_reordered_plan_is_none() -> None:
    plan = [{"topic": "career", "notes": ""}, {"topic": "finance", "notes": "budget"}]
    v1 = version(1, content_plan=plan)
    v2 = version(2, period_start=date(2026, 4, 1), content_plan=list(reversed(plan)))
    (change,) = changes_between(v1, v2)
    assert (change.field, change.before, change.after) == (
        "period",
        [date(2026, 3, 1), date(2026, 9, 30)],
        [date(2026, 4, 1), date(2026, 9, 30)],
    )
