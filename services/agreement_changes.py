"""What changed from one agreement version to the next, field by field.

The history shows each version's terms; a reader comparing v3 with v2 by eye misses the one
date that moved. ``history`` pairs each version with the version before it (by number, drafts
left out: they are no one's agreement yet) and lists the differences, which the API and the
portal show as they are.

Fields, in the order they appear::

    period              before/after: [start, end]
    planned_meetings    before/after: a number
    contact_modes       before/after: the list of ways of keeping in touch
    contact_frequency   before/after: the words
    content_plan        one change per topic: added (after: notes), removed (before: notes),
                        changed (its notes, before and after)
    notes               before/after: the words
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from models import AgreementVersion

#: The fields a change can name, in the order the agreement lists them.
FIELDS = ("period", "planned_meetings", "contact_modes", "contact_frequency", "content_plan", "notes")


@dataclass(frozen=True)
class Change:
    field: str  # one of FIELDS
    kind: str  # "changed", or for a topic of the content plan also "added" / "removed"
    before: Any = None
    after: Any = None
    topic: str | None = None  # the content plan's topic this change is about


@dataclass(frozen=True)
class HistoryEntry:
    agreement: AgreementVersion  # the version (by its number); not its concurrency ``version``
    previous: int | None  # the number of the version compared with; None for the first
    changes: list[Change]


def history(versions: list[AgreementVersion]) -> list[HistoryEntry]:
    """``versions`` (oldest first, no drafts), each with what changed from the one before."""
    entries = []
    previous: AgreementVersion | None = None
    for version in versions:
        changes = [] if previous is None else changes_between(previous, version)
        entries.append(HistoryEntry(version, None if previous is None else previous.number, changes))
        previous = version
    return entries


def changes_between(before: AgreementVersion, after: AgreementVersion) -> list[Change]:
    found = []
    period_before = _period(before)
    if period_before != _period(after):
        found.append(Change("period", "changed", period_before, _period(after)))
    for field in ("planned_meetings", "contact_modes", "contact_frequency"):
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            found.append(Change(field, "changed", old, new))
    found.extend(_plan_changes(_plan(before), _plan(after)))
    if before.notes != after.notes:
        found.append(Change("notes", "changed", before.notes, after.notes))
    return found


def _period(version: AgreementVersion) -> list[date]:
    return [version.period_start, version.period_end]


def _plan(version: AgreementVersion) -> dict[str, str]:
    """Topic → notes (a topic listed twice: its first notes)."""
    plan: dict[str, str] = {}
    for item in version.content_plan:
        plan.setdefault(str(item.get("topic", "")).strip(), str(item.get("notes", "")))
    return plan


def _plan_changes(before: dict[str, str], after: dict[str, str]) -> list[Change]:
    found = []
    for topic, notes in after.items():
        if topic not in before:
            found.append(Change("content_plan", "added", None, notes, topic=topic))
        elif before[topic] != notes:
            found.append(Change("content_plan", "changed", before[topic], notes, topic=topic))
    found.extend(
        Change("content_plan", "removed", notes, None, topic=topic)
        for topic, notes in before.items()
        if topic not in after
    )
    return found
