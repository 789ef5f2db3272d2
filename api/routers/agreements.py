"""The mentorship agreement: draft, submit, approve or reject, history."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep, WriteDep
from api.problems import problems
from api.schemas.mentorships import (
    AgreementApproval,
    AgreementHistoryEntry,
    AgreementRead,
    AgreementRejection,
    AgreementVersionRead,
    AgreementWrite,
)
from services import agreement_changes, agreements
from services.access import visible_mentorship

router = APIRouter(prefix="/mentorships/{mentorship_id}/agreement", tags=["agreement"])
RULES = problems(403, 404, 409, 412)


@router.put("", responses=RULES)
def save_draft(mentorship_id: int, body: AgreementWrite, write: WriteDep) -> AgreementVersionRead:
    """Create or replace the draft. The mentee writes the first version; once one version was
    approved, either side may draft an amendment. ``If-Match`` carries the draft's version."""
    draft = agreements.save_draft(
        write.session, write.user, mentorship_id, body.terms(), now=write.now, expected_version=write.if_match
    )
    return write.done(AgreementVersionRead.model_validate(draft), mentorship_id=mentorship_id)


@router.post("/submit", responses=RULES)
def submit(mentorship_id: int, write: WriteDep) -> AgreementVersionRead:
    """Send your draft to the other side for approval."""
    pending = agreements.submit(
        write.session, write.user, mentorship_id, now=write.now, expected_version=write.if_match
    )
    return write.done(AgreementVersionRead.model_validate(pending), mentorship_id=mentorship_id)


@router.post("/approve", responses=RULES)
def approve(mentorship_id: int, body: AgreementApproval, write: WriteDep) -> AgreementVersionRead:
    """The other side approves a pending version. The first approval makes the pair a mentorship."""
    decided = agreements.decide(
        write.session,
        write.user,
        mentorship_id,
        number=body.number,
        approve=True,
        now=write.now,
        expected_version=write.if_match,
    )
    return write.done(AgreementVersionRead.model_validate(decided), mentorship_id=mentorship_id)


@router.post("/reject", responses=RULES)
def reject(mentorship_id: int, body: AgreementRejection, write: WriteDep) -> AgreementVersionRead:
    decided = agreements.decide(
        write.session,
        write.user,
        mentorship_id,
        number=body.number,
        approve=False,
        reason=body.reason,
        now=write.now,
        expected_version=write.if_match,
    )
    return write.done(AgreementVersionRead.model_validate(decided), mentorship_id=mentorship_id)


@router.get("", responses=problems(404))
def get_agreement(mentorship_id: int, session: SessionDep, user: CurrentUser) -> AgreementRead:
    """The approved version in force, the one waiting for approval, your draft, and the history."""
    mentorship = visible_mentorship(session, mentorship_id, user)
    state = agreements.agreement_state(session, mentorship_id)
    return AgreementRead(
        current=AgreementVersionRead.maybe(state.current),
        pending=AgreementVersionRead.maybe(state.pending),
        draft=AgreementVersionRead.maybe(agreements.visible_draft(state, user.id, mentorship)),
        history=[AgreementHistoryEntry.of(entry) for entry in agreement_changes.history(state.history)],
    )
