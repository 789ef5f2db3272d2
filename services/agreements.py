"""The mentorship agreement: drafts, submission, approval by the other side, amendments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AgreementStatus, AgreementVersion, Mentorship, User
from services.access import check_version, mentorship_to_act_on
from services.errors import Conflict, DomainError
from services.events import append_event
from services.i18n import _
from services.lifecycle import Fact, has_approved_agreement, require, require_pending
from services.time_bounds import check_agreement_period

OTHER_SIDE_PENDING = _("Agreement v{number} from the other side waits for your answer first.")


@dataclass(frozen=True)
class AgreementTerms:
    period_start: date
    period_end: date
    planned_meetings: int
    contact_modes: list[str]
    contact_frequency: str
    content_plan: list[dict[str, Any]]
    notes: str = ""


def versions_of(session: Session, mentorship_id: int) -> list[AgreementVersion]:
    return list(
        session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.mentorship_id == mentorship_id)
            .order_by(AgreementVersion.number)
        )
    )


def _with_status(versions: list[AgreementVersion], status: AgreementStatus) -> AgreementVersion | None:
    matching = [v for v in versions if v.status == status]
    return matching[-1] if matching else None


@dataclass(frozen=True)
class AgreementState:
    current: AgreementVersion | None
    pending: AgreementVersion | None
    draft: AgreementVersion | None
    history: list[AgreementVersion]


def agreement_state(session: Session, mentorship_id: int) -> AgreementState:
    versions = versions_of(session, mentorship_id)
    return AgreementState(
        current=_with_status(versions, AgreementStatus.APPROVED),
        pending=_with_status(versions, AgreementStatus.PENDING),
        draft=_with_status(versions, AgreementStatus.DRAFT),
        history=[v for v in versions if v.status != AgreementStatus.DRAFT],
    )


def save_draft(
    session: Session,
    actor: User,
    mentorship_id: int,
    terms: AgreementTerms,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> AgreementVersion:
    """Create the draft, or replace its terms. The mentee writes the first agreement;
    once one was approved, either side may draft an amendment."""
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    state = agreement_state(session, mentorship_id)
    draft = require_drafting(session, mentorship, actor.id, state)
    check_agreement_period(terms.period_start, terms.period_end, today=now.date())
    if draft is None:
        check_version(0, expected_version)  # nothing to match: only a missing If-Match passes
        draft = AgreementVersion(
            mentorship_id=mentorship_id,
            number=_next_number(session, mentorship_id),
            status=AgreementStatus.DRAFT,
            author_id=actor.id,
            created_at=now,
            **_terms(terms),
            updated_at=now,
        )
        session.add(draft)
    else:
        check_version(draft.version, expected_version)
        for field, value in _terms(terms).items():
            setattr(draft, field, value)
        draft.updated_at = now
        draft.version += 1
    session.flush()
    append_event(
        session,
        mentorship,
        "agreement.draft_saved",
        actor_id=actor.id,
        now=now,
        payload={"number": draft.number},
    )
    return draft


def require_drafting(
    session: Session, mentorship: Mentorship, actor_id: int, state: AgreementState
) -> AgreementVersion | None:
    """Check that ``actor_id`` may write a draft now; returns their draft, if any.

    The mentee writes the first agreement, either side an amendment; one draft at a time;
    and not while the other side's version waits for this side's answer (answer it first:
    approve it, or reject it saying what should change). Revising one's own pending version
    is allowed: submitting the revision replaces it."""
    side = require(Fact.SAVE_AGREEMENT, mentorship, actor_id)
    if side != "mentee" and not has_approved_agreement(session, mentorship.id):
        raise Conflict(_("The mentee writes the first agreement; amendments can come from either side."))
    draft, pending = state.draft, state.pending
    if draft is not None and draft.author_id != actor_id:
        raise Conflict(
            _("The other side is drafting v{number}; wait until it is submitted."), number=draft.number
        )
    if pending is not None and pending.author_id != actor_id:
        raise Conflict(OTHER_SIDE_PENDING, number=pending.number)
    return draft


def may_draft(session: Session, mentorship: Mentorship, user_id: int) -> bool:
    """Whether ``user_id`` may write a draft now (the portal offers the form only then)."""
    try:
        require_drafting(session, mentorship, user_id, agreement_state(session, mentorship.id))
    except DomainError:
        return False
    return True


def _terms(terms: AgreementTerms) -> dict[str, Any]:
    return {
        "period_start": terms.period_start,
        "period_end": terms.period_end,
        "planned_meetings": terms.planned_meetings,
        "contact_modes": list(terms.contact_modes),
        "contact_frequency": terms.contact_frequency,
        "content_plan": [dict(item) for item in terms.content_plan],
        "notes": terms.notes,
    }


def _next_number(session: Session, mentorship_id: int) -> int:
    highest = session.scalar(
        select(func.max(AgreementVersion.number)).where(AgreementVersion.mentorship_id == mentorship_id)
    )
    return (highest or 0) + 1


def submit(
    session: Session,
    actor: User,
    mentorship_id: int,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> AgreementVersion:
    """Send the draft to the other side. A newer submission replaces one's own pending version."""
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    require(Fact.SUBMIT_AGREEMENT, mentorship, actor.id)
    state = agreement_state(session, mentorship_id)
    draft = state.draft
    if draft is None or draft.author_id != actor.id:
        raise Conflict(_("You have no draft to submit."))
    check_version(draft.version, expected_version)
    pending = state.pending
    if pending is not None:
        if pending.author_id != actor.id:
            raise Conflict(OTHER_SIDE_PENDING, number=pending.number)
        pending.status = AgreementStatus.SUPERSEDED
        pending.version += 1
    draft.status = AgreementStatus.PENDING
    draft.submitted_at = now
    draft.version += 1
    session.flush()
    append_event(
        session,
        mentorship,
        "agreement.submitted",
        actor_id=actor.id,
        now=now,
        payload={"number": draft.number},
    )
    return draft


def decide(
    session: Session,
    actor: User,
    mentorship_id: int,
    *,
    number: int,
    approve: bool,
    now: datetime,
    reason: str | None = None,
    expected_version: int | None = None,
) -> AgreementVersion:
    """Approve or reject the pending version ``number`` (``chosen``, identified by its number;
    its ``version`` is the row's concurrency version): only the side that did not write it decides."""
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    require(Fact.DECIDE_AGREEMENT, mentorship, actor.id)
    chosen = session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.mentorship_id == mentorship_id, AgreementVersion.number == number
        )
    )
    if chosen is not None and chosen.status == AgreementStatus.DRAFT:
        chosen = None  # a draft is not visible to the other side
    chosen = require_pending(chosen, number)
    check_version(chosen.version, expected_version)
    if chosen.author_id == actor.id:
        raise Conflict(_("The other side approves the agreement you wrote."))
    first = approve and not has_approved_agreement(session, mentorship_id)
    chosen.status = AgreementStatus.APPROVED if approve else AgreementStatus.REJECTED
    chosen.decided_at = now
    chosen.decided_by_id = actor.id
    chosen.rejection_reason = None if approve else reason
    chosen.version += 1
    session.flush()
    if approve:
        append_event(
            session,
            mentorship,
            "agreement.approved",
            actor_id=actor.id,
            now=now,
            payload={"number": number, "first": first},
        )
    else:
        append_event(
            session,
            mentorship,
            "agreement.rejected",
            actor_id=actor.id,
            now=now,
            payload={"number": number, "reason": reason},
        )
    return chosen


def visible_draft(state: AgreementState, viewer_id: int, mentorship: Mentorship) -> AgreementVersion | None:
    """A draft is its author's work in progress; operators may look, the other side may not."""
    if state.draft is None:
        return None
    if mentorship.side_of(viewer_id) is not None and state.draft.author_id != viewer_id:
        return None
    return state.draft
