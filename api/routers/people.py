"""Operators and people: everyone in the program, their roles, the program's own settings,
and the audit log of what operators did (invitations, roles, deactivations, resets, erasures,
program settings)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from api.deps import Operator, SessionDep, WriteDep
from api.problems import problems
from api.schemas.admin import ProgramRead, ProgramWrite
from api.schemas.common import Input, Output, PersonRef
from api.schemas.users import UserRead
from models import AuditEntry, Role
from services import audit, people, program

router = APIRouter(prefix="/admin", tags=["operators"])


class RolesUpdate(Input):
    roles: list[Role] = Field(min_length=1, max_length=3)


class AuditEntryRead(Output):
    id: int
    at: datetime
    operator: PersonRef
    action: str
    subject: PersonRef | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryRead:
        return cls(
            id=entry.id,
            at=entry.at,
            operator=PersonRef.model_validate(entry.operator),
            action=entry.action,
            subject=None if entry.subject is None else PersonRef.model_validate(entry.subject),
            details=entry.details,
        )


@router.get("/users", responses=problems(403))
def everyone(
    session: SessionDep,
    _operator: Operator,
    response: Response,
    q: Annotated[str, Query(max_length=200, description="part of a name or e-mail address")] = "",
    role: Role | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = people.PER_PAGE,
) -> list[UserRead]:
    """Everyone in the program (erased people aside), by name; the total in ``X-Total-Count``."""
    found = people.people(session, search=q, role=role, offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(found.total)
    return [UserRead.of(user) for user in found.people]


@router.put("/users/{user_id}/roles", responses=problems(403, 404, 409))
def set_roles(user_id: int, body: RolesUpdate, operator: Operator, write: WriteDep) -> UserRead:
    """Give a person exactly these roles. Not one's own; not a role the person holds in a
    mentorship under way (409)."""
    user = people.set_roles(write.session, operator, user_id, body.roles, now=write.now)
    return write.done(UserRead.of(user))


@router.get("/audit", responses=problems(403))
def audit_log(
    session: SessionDep,
    _operator: Operator,
    response: Response,
    subject_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AuditEntryRead]:
    """What operators did, newest first; ``subject_id`` keeps one person's entries."""
    found = audit.entries(session, subject_id=subject_id, offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(found.total)
    return [AuditEntryRead.of(entry) for entry in found.entries]


@router.get("/program", responses=problems(403))
def program_settings(session: SessionDep, _operator: Operator) -> ProgramRead:
    """The program's name and contact address, as certificates, mails and the portal show them."""
    return ProgramRead.model_validate(program.program_of(session))


@router.put("/program", responses=problems(403, 409))
def change_program_settings(body: ProgramWrite, operator: Operator, write: WriteDep) -> ProgramRead:
    """Name the program and give a contact address; from now on on new certificates, in every
    mail's footer and in the portal's header (in the audit log)."""
    found = program.change(
        write.session, operator, name=body.name, contact_email=str(body.contact_email), now=write.now
    )
    return write.done(ProgramRead.model_validate(found))
