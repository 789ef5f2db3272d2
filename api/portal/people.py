"""``/portal/program/people``: operators invite people, set their roles, deactivate or
reactivate them, send a password reset; ``/portal/program/audit``: what operators did.

Every action goes through ``services.people``, as the API's do, and lands in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.portal import forms
from api.portal.pages import Portal, PortalRoute, page_link, pages_of
from api.portal.program import Operating, OperatingPost
from api.portal.texts import AUDIT_ACTIONS, label
from api.schemas.users import Invitation
from models import Mentorship, Role, User
from services import audit, mentorships, people, users
from services.errors import Invalid, NotFound
from services.i18n import _
from tasks.mail import enqueue_password_link

router = APIRouter(route_class=PortalRoute)
ROLES = tuple(Role)


@router.get("/program/people", response_class=HTMLResponse)
def people_page(
    portal: Operating,
    q: Annotated[str, Query(max_length=200)] = "",
    role: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _people_page(portal, q=q, role=role, page=page)


def _people_page(
    portal: Operating,
    *,
    q: str = "",
    role: str = "",
    page: int = 1,
    error: str | None = None,
    status: int = 200,
) -> Response:
    role_filter = role if role in set(Role) else None
    found = people.people(
        portal.session, search=q, role=role_filter, offset=(page - 1) * people.PER_PAGE, limit=people.PER_PAGE
    )
    return portal.page(
        "portal/program_people.html",
        status=status,
        error=error,
        found=found,
        q=q,
        role=role_filter or "",
        page=page,
        pages=pages_of(found.total, people.PER_PAGE),
        link=page_link("/portal/program/people", {"q": q, "role": role_filter or ""}),
        roles=ROLES,
        sent=portal.form if error else None,
        awaits_password=users.awaits_password,
    )


@router.post("/program/people/invite", response_class=HTMLResponse)
def invite(portal: OperatingPost) -> Response:
    def act() -> None:
        fields = portal.fields
        body = forms.checked(
            Invitation,
            {
                "email": forms.text(fields, "email"),
                "display_name": forms.text(fields, "display_name"),
                "roles": forms.texts(fields, "roles"),
            },
            portal.reader.language,
        )
        user = people.invite(
            portal.session,
            portal.user,
            email=body.email,
            display_name=body.display_name,
            roles=body.roles,
            now=portal.now,
        )
        enqueue_password_link(portal.session, user, "invitation", settings=portal.settings, now=portal.now)

    return portal.act(
        _none(act),
        then="/portal/program/people?done=invited",
        refused=lambda message, status: _people_page(portal, error=message, status=status),
    )


@router.get("/program/people/{user_id}", response_class=HTMLResponse)
def person_page(user_id: int, portal: Operating) -> Response:
    return _person_page(portal, user_id)


def _person_page(portal: Portal, user_id: int, *, error: str | None = None, status: int = 200) -> Response:
    person = portal.session.get(User, user_id)
    if person is None or person.erased_at is not None:
        raise NotFound(_("No such user."))
    own: list[Mentorship] = mentorships.mentorships_of(portal.session, person)
    return portal.page(
        "portal/program_person.html",
        status=status,
        error=error,
        person=person,
        roles=ROLES,
        mentorships=own,
        entries=audit.entries(portal.session, subject_id=person.id, limit=20).entries,
        action_text=lambda code: label(AUDIT_ACTIONS, code, portal.reader.language),
        is_self=person.id == portal.user.id,
        awaits_password=users.awaits_password,
    )


def _on_person(portal: OperatingPost, user_id: int, change: Callable[[], object], done: str) -> Response:
    return portal.act(
        _none(change),
        then=f"/portal/program/people/{user_id}?done={done}",
        refused=lambda message, status: _person_page(portal, user_id, error=message, status=status),
    )


@router.post("/program/people/{user_id}/roles", response_class=HTMLResponse)
def set_roles(user_id: int, portal: OperatingPost) -> Response:
    def change() -> object:
        chosen = [Role(code) for code in forms.texts(portal.fields, "roles") if code in set(Role)]
        if not chosen:
            raise Invalid(_("Give at least one role."), loc=("body", "roles"))
        return people.set_roles(portal.session, portal.user, user_id, chosen, now=portal.now)

    return _on_person(portal, user_id, change, "roles_set")


@router.post("/program/people/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(user_id: int, portal: OperatingPost) -> Response:
    return _on_person(
        portal,
        user_id,
        lambda: people.deactivate(portal.session, portal.user, user_id, now=portal.now),
        "deactivated",
    )


@router.post("/program/people/{user_id}/reactivate", response_class=HTMLResponse)
def reactivate(user_id: int, portal: OperatingPost) -> Response:
    return _on_person(
        portal,
        user_id,
        lambda: people.reactivate(portal.session, portal.user, user_id, now=portal.now),
        "reactivated",
    )


@router.post("/program/people/{user_id}/reset-password", response_class=HTMLResponse)
def reset_password(user_id: int, portal: OperatingPost) -> Response:
    def change() -> object:
        user = people.reset_password(portal.session, portal.user, user_id, now=portal.now)
        enqueue_password_link(portal.session, user, "reset", settings=portal.settings, now=portal.now)
        return user

    return _on_person(portal, user_id, change, "reset_sent")


@router.get("/program/audit", response_class=HTMLResponse)
def audit_page(portal: Operating, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    per_page = 50
    found = audit.entries(portal.session, offset=(page - 1) * per_page, limit=per_page)
    return portal.page(
        "portal/program_audit.html",
        found=found,
        page=page,
        pages=pages_of(found.total, per_page),
        link=page_link("/portal/program/audit", {}),
        action_text=lambda code: label(AUDIT_ACTIONS, code, portal.reader.language),
    )


def _none(action: Callable[[], object]) -> Callable[[], None]:
    """``Portal.act`` tells the engine about a mentorship an action returns; these concern people."""

    def run() -> None:
        action()

    return run
