"""``/portal/profile``: what a person tells about themself (bio; a mentee's goals and topics, a
mentor's offer, topics and capacity) and how the program speaks to them: language and time
zone, used from the next page on for pages, mails, calendar invites and certificates.

The same rules as ``PUT /api/me/profile`` (``services.users.update_profile``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.portal import forms
from api.portal.pages import Portal, PortalRoute, Posting, Reading
from api.portal.texts import ACHIEVEMENT_GROUPS, OTHER_ACHIEVEMENT_GROUP, say
from api.schemas.users import ProfileUpdate
from models import Role
from services import achievements, catalogue, users

router = APIRouter(route_class=PortalRoute)
PAGE = "portal/profile.html"


@router.get("/profile", response_class=HTMLResponse)
def profile_page(portal: Reading) -> Response:
    return _page(portal)


def _achievements(portal: Portal) -> dict[str, object]:
    """The grouped achievements, each with its words in the reader's language."""
    found = achievements.summary(portal.session, portal.user.id)

    def words(kind: str) -> str:
        return say(ACHIEVEMENT_GROUPS.get(kind, OTHER_ACHIEVEMENT_GROUP), portal.reader.language)

    return {
        "total": found.total,
        "milestones": [(g, words(g.kind)) for g in found.milestones],
        "activities": [(g, words(g.kind)) for g in found.activities],
    }


def _page(portal: Portal, *, error: str | None = None, status: int = 200) -> Response:
    return portal.page(
        PAGE,
        status=status,
        error=error,
        profile=portal.user.profile,
        topics=catalogue.topics(portal.session, portal.reader.language),
        zones=users.zone_choices_with(portal.user.timezone),
        is_mentor=portal.user.has_role(Role.MENTOR),
        sent=portal.form if error else None,
        earned=_achievements(portal),
    )


@router.post("/profile", response_class=HTMLResponse)
def save_profile(portal: Posting) -> Response:
    def save() -> None:
        fields, user = portal.fields, portal.user
        data: dict[str, object] = {
            "bio": forms.text(fields, "bio"),
            "locale": forms.text(fields, "locale"),
            "timezone": forms.text(fields, "timezone"),
        }
        if user.has_role(Role.MENTEE):
            data["mentee"] = {
                "goals": forms.text(fields, "goals"),
                "topics": forms.texts(fields, "mentee_topics"),
            }
        if user.has_role(Role.MENTOR):
            data["mentor"] = {
                "offer": forms.text(fields, "offer"),
                "topics": forms.texts(fields, "mentor_topics"),
                "capacity": forms.text(fields, "capacity"),
            }
        body = forms.checked(ProfileUpdate, data, portal.reader.language)
        users.update_profile(portal.session, user, body.change(), now=portal.now)

    return portal.act(
        save,
        then="/portal/profile?done=profile_saved",
        refused=lambda message, status: _page(portal, error=message, status=status),
    )
