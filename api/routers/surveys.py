"""The fit question after the get-to-know-you meeting and the closure survey after completion:
each participant answers once; only they read their answer."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import CurrentUser, SessionDep, WriteDep
from api.problems import problems
from api.schemas.surveys import ClosureRead, ClosureStatus, ClosureWrite, FitRead, FitStatus, FitWrite
from models import Survey
from services import surveys

router = APIRouter(prefix="/mentorships", tags=["surveys"])


@router.post("/{mentorship_id}/fit", status_code=status.HTTP_201_CREATED, responses=problems(403, 404, 409))
def answer_fit(mentorship_id: int, body: FitWrite, write: WriteDep) -> FitRead:
    """After the get-to-know-you meeting was held, while the mentorship is under way: do you want
    to continue together? Once per person (a second answer is a 409); private to its author."""
    row = surveys.answer(write.session, write.user, mentorship_id, Survey.FIT, body.given(), now=write.now)
    return write.done(FitRead.of(row), status_code=201, mentorship_id=mentorship_id)


@router.get("/{mentorship_id}/fit", responses=problems(403, 404))
def my_fit(mentorship_id: int, session: SessionDep, user: CurrentUser) -> FitStatus:
    """Whether the fit question is due for the caller, and their own answer (nobody else's)."""
    due, row = surveys.read_own(session, user, mentorship_id, Survey.FIT)
    return FitStatus(due=due, answer=None if row is None else FitRead.of(row))


@router.post(
    "/{mentorship_id}/closure-survey", status_code=status.HTTP_201_CREATED, responses=problems(403, 404, 409)
)
def answer_closure(mentorship_id: int, body: ClosureWrite, write: WriteDep) -> ClosureRead:
    """After completion: how far were your goals reached, would you recommend the program? Once
    per person (a second answer is a 409); private to its author."""
    row = surveys.answer(
        write.session, write.user, mentorship_id, Survey.CLOSURE, body.given(), now=write.now
    )
    return write.done(ClosureRead.of(row), status_code=201, mentorship_id=mentorship_id)


@router.get("/{mentorship_id}/closure-survey", responses=problems(403, 404))
def my_closure(mentorship_id: int, session: SessionDep, user: CurrentUser) -> ClosureStatus:
    """Whether the closure survey is due for the caller, and their own answer."""
    due, row = surveys.read_own(session, user, mentorship_id, Survey.CLOSURE)
    return ClosureStatus(due=due, answer=None if row is None else ClosureRead.of(row))
