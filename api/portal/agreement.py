"""``/portal/mentorships/{id}/agreement``: the version in force, the one waiting for approval,
the reader's draft and the history; drafting, submitting, approving and rejecting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.portal import forms
from api.portal.pages import Portal, PortalRoute, Posting, Reading
from api.portal.views import allowed_facts
from services import agreement_changes, agreements, catalogue
from services.access import visible_mentorship
from services.lifecycle import Fact

router = APIRouter(route_class=PortalRoute)


def agreement_page(
    portal: Portal,
    mentorship_id: int,
    *,
    error: str | None = None,
    status: int = 200,
    refill: dict[str, Any] | None = None,
) -> Response:
    m = visible_mentorship(portal.session, mentorship_id, portal.user)
    user = portal.user
    state = agreements.agreement_state(portal.session, m.id)
    draft = agreements.visible_draft(state, user.id, m)
    allowed = allowed_facts(m, user.id)
    side = m.side_of(user.id)
    history = agreement_changes.history(state.history)
    today = portal.reader.local(portal.now).date()
    own_pending = state.pending if state.pending is not None and state.pending.author_id == user.id else None
    own_last = next((v for v in reversed(state.history) if v.author_id == user.id), None)  # e.g. rejected
    topics = catalogue.topics(portal.session, portal.reader.language)
    return portal.page(
        "portal/agreement.html",
        status=status,
        error=error,
        m=m,
        side=side,
        other=m.mentor if m.mentee_id == user.id else m.mentee,
        current=state.current,
        pending=state.pending,
        draft=draft,
        history=list(reversed(history)),
        pending_changes=next((e for e in history if e.agreement is state.pending), None),
        may_draft=agreements.may_draft(portal.session, m, user.id),  # the form only when it may be saved
        may_decide=Fact.DECIDE_AGREEMENT in allowed
        and state.pending is not None
        and state.pending.author_id != user.id,
        values=refill or forms.agreement_defaults(draft or own_pending or state.current or own_last, today),
        own_pending=own_pending,
        refill=refill is not None,
        contact_modes=forms.CONTACT_MODES,
        topics=topics,
        titles=catalogue.titles(portal.session, portal.reader.language),
        names={m.mentee_id: m.mentee.display_name, m.mentor_id: m.mentor.display_name},
    )


@router.get("/mentorships/{mentorship_id}/agreement", response_class=HTMLResponse)
def show(mentorship_id: int, portal: Reading) -> Response:
    return agreement_page(portal, mentorship_id)


def _act(
    portal: Portal, mentorship_id: int, change: Callable[[], object], done: str, *, refill: bool = False
) -> Response:
    def act() -> int:
        change()
        return mentorship_id

    def refused(message: str, status: int) -> Response:
        sent = forms.agreement_refill(portal.fields) if refill else None
        return agreement_page(portal, mentorship_id, error=message, status=status, refill=sent)

    return portal.act(act, then=f"/portal/mentorships/{mentorship_id}/agreement?done={done}", refused=refused)


@router.post("/mentorships/{mentorship_id}/agreement")
def save_draft(mentorship_id: int, portal: Posting) -> Response:
    """Save the draft; with ``then=submit`` also send it for approval, in the same transaction."""
    submit_too = forms.text(portal.fields, "then") == "submit"

    def change() -> None:
        terms = forms.agreement_terms(portal.fields, portal.reader.language)
        agreements.save_draft(portal.session, portal.user, mentorship_id, terms, now=portal.now)
        if submit_too:
            agreements.submit(portal.session, portal.user, mentorship_id, now=portal.now)

    return _act(portal, mentorship_id, change, "submitted" if submit_too else "draft_saved", refill=True)


@router.post("/mentorships/{mentorship_id}/agreement/submit")
def submit(mentorship_id: int, portal: Posting) -> Response:
    return _act(
        portal,
        mentorship_id,
        lambda: agreements.submit(portal.session, portal.user, mentorship_id, now=portal.now),
        "submitted",
    )


@router.post("/mentorships/{mentorship_id}/agreement/approve")
def approve(mentorship_id: int, portal: Posting) -> Response:
    def change() -> None:
        number = forms.number(portal.fields, "number")
        agreements.decide(
            portal.session, portal.user, mentorship_id, number=number, approve=True, now=portal.now
        )

    return _act(portal, mentorship_id, change, "approved")


@router.post("/mentorships/{mentorship_id}/agreement/reject")
def reject(mentorship_id: int, portal: Posting) -> Response:
    def change() -> None:
        number = forms.number(portal.fields, "number")
        why = forms.reason(portal.fields, portal.reader.language, required=True)
        agreements.decide(
            portal.session,
            portal.user,
            mentorship_id,
            number=number,
            approve=False,
            reason=why,
            now=portal.now,
        )

    return _act(portal, mentorship_id, change, "rejected")
