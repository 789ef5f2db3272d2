"""The program's name and contact address, as operators set them: on certificates, in the
footer of every mail and in the portal's header. Until an operator names it, the generic
words stand ("Mentoring program"), in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import ProgramSettings, User
from services import audit
from services.audit import Action
from services.errors import Conflict
from services.i18n import _

ROW_ID = 1


@dataclass(frozen=True)
class Program:
    name: str  # "" until an operator names the program
    contact_email: str  # "" for none


def program_of(session: Session) -> Program:
    row = session.get(ProgramSettings, ROW_ID)
    return Program("", "") if row is None else Program(row.name, row.contact_email)


def change(session: Session, operator: User, *, name: str, contact_email: str, now: datetime) -> Program:
    """Set both; the audit log names what changed (not the old words)."""
    before = program_of(session)
    after = Program(name.strip(), contact_email.strip().lower())
    changed = [
        field for field in ("name", "contact_email") if getattr(before, field) != getattr(after, field)
    ]
    if not changed:
        return after
    row = session.get(ProgramSettings, ROW_ID, with_for_update=True)
    if row is None:
        row = ProgramSettings(id=ROW_ID)
        session.add(row)
    row.name, row.contact_email, row.updated_at = after.name, after.contact_email, now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another operator saved the first settings at the same moment
        raise Conflict(_("Another operator saved the settings at the same moment; try again.")) from None
    audit.record(session, operator, Action.PROGRAM_SETTINGS, details={"changed": changed}, now=now)
    return after
