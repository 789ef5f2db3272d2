"""The audit log of operators' actions: written in the same transaction as the action, so an
action and its entry land together or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defaultload

from models import AuditEntry, User


class Action(StrEnum):
    CREATE = "person.created"
    INVITE = "person.invited"
    SET_ROLES = "person.roles_set"
    DEACTIVATE = "person.deactivated"
    REACTIVATE = "person.reactivated"
    RESET_PASSWORD = "person.password_reset"  # noqa: S105 - an action's name, not a password
    ERASE = "person.erased"
    PROGRAM_SETTINGS = "program.settings_changed"


def record(
    session: Session,
    operator: User,
    action: Action,
    *,
    subject: User | None = None,
    details: dict[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        operator_id=operator.id,
        action=action.value,
        subject_id=None if subject is None else subject.id,
        details=details or {},
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int


def entries(
    session: Session, *, subject_id: int | None = None, offset: int = 0, limit: int = 50
) -> AuditPage:
    """Newest first; ``subject_id`` keeps one person's entries."""
    query = select(AuditEntry).options(*_NAMES_ONLY)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
    )
    return AuditPage(list(found.unique()), total)


#: The log shows the operator's and the subject's names, not their roles and profiles (which
#: ``User`` would load for each of them).
_NAMES_ONLY = tuple(
    defaultload(person).lazyload(part)
    for person in (AuditEntry.operator, AuditEntry.subject)
    for part in (User.roles, User.profile)
)
