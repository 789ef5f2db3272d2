"""The fit question and the closure survey: when each is due, answering it once, and the
program's figures from the answers.

- **Fit**: once the get-to-know-you meeting was held, each participant is asked whether they
  want to continue together (yes, not sure, no; a comment if they like), while the mentorship
  is under way (``intro`` or ``active``).
- **Closure**: once the mentorship is ``completed``, each participant rates how far their goals
  were reached (1–5) and says whether they would recommend the program.

Each person answers each survey once per mentorship; a second answer is refused (409), so
what a person said stays what they said. An answer is private to its author, like feedback:
the event log records that an answer was given (``survey.answered {survey}``), never what;
operators see figures only once at least ``MIN_AUTHORS`` distinct people answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Fit, Meeting, MeetingStatus, Mentorship, Stage, Survey, SurveyAnswer, User
from services.access import mentorship_to_act_on, visible_mentorship
from services.errors import Conflict, Forbidden
from services.events import append_event
from services.i18n import _
from services.reports import MIN_AUTHORS

FIT_STAGES = frozenset({Stage.INTRO, Stage.ACTIVE})


def intro_held(session: Session, mentorship_id: int) -> bool:
    found = session.scalar(
        select(Meeting.id)
        .where(
            Meeting.mentorship_id == mentorship_id,
            Meeting.is_intro.is_(True),
            Meeting.status == MeetingStatus.HELD,
        )
        .limit(1)
    )
    return found is not None


def own_answer(session: Session, mentorship_id: int, user_id: int, survey: Survey) -> SurveyAnswer | None:
    return session.scalar(
        select(SurveyAnswer).where(
            SurveyAnswer.mentorship_id == mentorship_id,
            SurveyAnswer.author_id == user_id,
            SurveyAnswer.survey == survey,
        )
    )


def _refusal(session: Session, mentorship: Mentorship, survey: Survey) -> Conflict | None:
    """Why ``survey`` cannot be answered on ``mentorship`` now (whoever asks), or None."""
    if survey is Survey.FIT:
        if mentorship.stage not in FIT_STAGES:
            return Conflict(_("The fit question is asked while the mentorship is under way."))
        if not intro_held(session, mentorship.id):
            return Conflict(_("The fit question comes after your get-to-know-you meeting was held."))
        return None
    if mentorship.stage != Stage.COMPLETED:
        return Conflict(_("The closure survey comes once the mentorship is completed."))
    return None


def is_due(session: Session, mentorship: Mentorship, user_id: int, survey: Survey) -> bool:
    """Whether ``user_id`` (a participant) is asked ``survey`` now and has not answered it."""
    if mentorship.side_of(user_id) is None or _refusal(session, mentorship, survey) is not None:
        return False
    return own_answer(session, mentorship.id, user_id, survey) is None


def due(session: Session, mentorship: Mentorship, user_id: int) -> list[Survey]:
    """The surveys the portal offers ``user_id`` on this mentorship now."""
    return [s for s in Survey if is_due(session, mentorship, user_id, s)]


@dataclass(frozen=True)
class Answer:
    """What a person answers; the fields of the other survey stay None."""

    fit: Fit | None = None
    goals_reached: int | None = None
    would_recommend: bool | None = None
    comment: str = ""


def answer(
    session: Session, actor: User, mentorship_id: int, survey: Survey, given: Answer, *, now: datetime
) -> SurveyAnswer:
    """Record ``actor``'s answer to ``survey``; ``Conflict`` when it is not asked now or was
    answered already."""
    mentorship = mentorship_to_act_on(session, mentorship_id, actor)
    refusal = _refusal(session, mentorship, survey)
    if refusal is not None:
        raise refusal
    if own_answer(session, mentorship.id, actor.id, survey) is not None:
        raise Conflict(_("You already answered this survey."))
    row = SurveyAnswer(
        mentorship_id=mentorship.id,
        author_id=actor.id,
        survey=survey.value,
        fit=None if given.fit is None else given.fit.value,
        goals_reached=given.goals_reached,
        would_recommend=given.would_recommend,
        comment=given.comment,
        answered_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a twin request answered first
        raise Conflict(_("You already answered this survey.")) from None
    # that an answer was given, never what
    append_event(
        session, mentorship, "survey.answered", actor_id=actor.id, now=now, payload={"survey": survey.value}
    )
    return row


def read_own(
    session: Session, viewer: User, mentorship_id: int, survey: Survey
) -> tuple[bool, SurveyAnswer | None]:
    """Whether ``survey`` is due for the viewer, and their own answer; a participant's only."""
    mentorship = visible_mentorship(session, mentorship_id, viewer)
    if mentorship.side_of(viewer.id) is None:
        raise Forbidden(_("Survey answers are private to the participant who gave them."))
    found = own_answer(session, mentorship.id, viewer.id, survey)
    return is_due(session, mentorship, viewer.id, survey), found


# --- figures for operators --------------------------------------------------------------------


@dataclass(frozen=True)
class FitFigures:
    """Shares (0–1) of the fit answers; all None until ``MIN_AUTHORS`` people answered."""

    yes: float | None
    not_sure: float | None
    no: float | None


@dataclass(frozen=True)
class ClosureFigures:
    """Average goals reached (1–5) and share who would recommend the program; None until
    ``MIN_AUTHORS`` people answered."""

    goals_reached_average: float | None
    would_recommend_share: float | None


def _answers(session: Session, survey: Survey) -> list[SurveyAnswer] | None:
    """Every answer to ``survey``, or None while fewer than ``MIN_AUTHORS`` people gave one."""
    rows = list(session.scalars(select(SurveyAnswer).where(SurveyAnswer.survey == survey)))
    return rows if len({r.author_id for r in rows}) >= MIN_AUTHORS else None


def fit_figures(session: Session) -> FitFigures:
    rows = _answers(session, Survey.FIT)
    if rows is None:
        return FitFigures(None, None, None)

    def share(value: Fit) -> float:
        return round(sum(r.fit == value for r in rows) / len(rows), 2)

    return FitFigures(share(Fit.YES), share(Fit.NOT_SURE), share(Fit.NO))


def closure_figures(session: Session) -> ClosureFigures:
    rows = _answers(session, Survey.CLOSURE)
    if rows is None:
        return ClosureFigures(None, None)
    goals = [r.goals_reached for r in rows if r.goals_reached is not None]
    return ClosureFigures(
        goals_reached_average=round(sum(goals) / len(goals), 2) if goals else None,
        would_recommend_share=round(sum(bool(r.would_recommend) for r in rows) / len(rows), 2),
    )


def answered_per_mentorship(session: Session) -> dict[tuple[int, str], int]:
    """How many of each pair answered each survey, by (mentorship id, survey): that they
    answered, never what (operators chase who has not)."""
    counted = session.execute(
        select(SurveyAnswer.mentorship_id, SurveyAnswer.survey, func.count()).group_by(
            SurveyAnswer.mentorship_id, SurveyAnswer.survey
        )
    ).tuples()
    return {(mentorship_id, survey): n for mentorship_id, survey, n in counted}
