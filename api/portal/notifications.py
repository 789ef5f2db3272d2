"""``/portal/notifications``: everything the system told the reader, newest first, each
linking to what it is about (``/portal/notifications/{id}`` marks it read and leads on), and
marking one or all read. The dashboard shows the newest few of the same list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.portal import forms
from api.portal.pages import Portal, PortalRoute, Posting, Reading
from api.portal.texts import NOTICES, OTHER_NOTICE, say
from services import notices
from services.errors import NotFound
from services.i18n import _

router = APIRouter(route_class=PortalRoute)
PAGE = "/portal/notifications"


def notice_rows(portal: Portal, *, limit: int) -> list[dict[str, Any]]:
    """The reader's newest notifications: the notice, its words, the other side's own words
    (a request's or an acceptance's message, a reason) and where its link leads."""
    language = portal.reader.language
    return [
        {
            "notice": n,
            "text": say(NOTICES.get(n.kind, OTHER_NOTICE), language, **n.params),
            "quote": str(n.params.get("message") or n.params.get("reason") or ""),
            "path": portal_path(n.params.get("path")),
        }
        for n in notices.notifications_of(portal.session, portal.user.id, limit=limit)
    ]


def portal_path(path: object) -> str | None:
    return path if isinstance(path, str) and path.startswith("/portal/") else None


def notifications_page(portal: Portal, *, error: str | None = None, status: int = 200) -> Response:
    return portal.page(
        "portal/notifications.html", status=status, error=error, news=notice_rows(portal, limit=200)
    )


@router.get("/notifications", response_class=HTMLResponse)
def show(portal: Reading) -> Response:
    return notifications_page(portal)


@router.get("/notifications/{notification_id}")
def open_notification(notification_id: int, portal: Reading) -> Response:
    """Following a notification's link marks it read, then leads where it points."""
    found = notices.mark_read(portal.session, portal.user.id, notification_id, now=portal.now)
    if found is None:
        raise NotFound(_("No such notification."))
    portal.session.commit()
    return RedirectResponse(portal_path(found.params.get("path")) or PAGE, status_code=303)


def _back(portal: Portal, done: str) -> str:
    """Back to the page the form was on: this one, or the dashboard's list."""
    if forms.text(portal.fields, "back") == "notifications":
        return f"{PAGE}?done={done}"
    return f"/portal?done={done}#notifications"


@router.post("/notifications/read")
def read_all_notifications(portal: Posting) -> Response:
    def mark() -> None:
        notices.mark_all_read(portal.session, portal.user.id, now=portal.now)

    def refused(message: str, status: int) -> Response:
        return notifications_page(portal, error=message, status=status)

    return portal.act(mark, then=_back(portal, "all_read"), refused=refused)


@router.post("/notifications/{notification_id}/read")
def read_notification(notification_id: int, portal: Posting) -> Response:
    def mark() -> None:
        if notices.mark_read(portal.session, portal.user.id, notification_id, now=portal.now) is None:
            raise NotFound(_("No such notification."))

    def refused(message: str, status: int) -> Response:
        return notifications_page(portal, error=message, status=status)

    return portal.act(mark, then=_back(portal, "read"), refused=refused)
