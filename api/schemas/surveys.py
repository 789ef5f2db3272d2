"""The fit question and the closure survey as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Input, Output
from models import Fit, SurveyAnswer
from services.surveys import Answer


class FitWrite(Input):
    answer: Fit  # continue together: yes, not_sure, no
    comment: str = Field(default="", max_length=4000)

    def given(self) -> Answer:
        return Answer(fit=self.answer, comment=self.comment)


class FitRead(Output):
    mentorship_id: int
    answer: Fit
    comment: str
    answered_at: datetime

    @classmethod
    def of(cls, row: SurveyAnswer) -> FitRead:
        return cls(
            mentorship_id=row.mentorship_id,
            answer=Fit(row.fit or Fit.NOT_SURE),
            comment=row.comment,
            answered_at=row.answered_at,
        )


class FitStatus(Output):
    due: bool  # asked now and not answered yet
    answer: FitRead | None  # one's own answer, once given


class ClosureWrite(Input):
    goals_reached: int = Field(
        ge=1, le=5, description="how far your goals were reached, 1 (not) to 5 (fully)"
    )
    would_recommend: bool
    comment: str = Field(default="", max_length=4000)

    def given(self) -> Answer:
        return Answer(
            goals_reached=self.goals_reached, would_recommend=self.would_recommend, comment=self.comment
        )


class ClosureRead(Output):
    mentorship_id: int
    goals_reached: int
    would_recommend: bool
    comment: str
    answered_at: datetime

    @classmethod
    def of(cls, row: SurveyAnswer) -> ClosureRead:
        return cls(
            mentorship_id=row.mentorship_id,
            goals_reached=row.goals_reached or 0,
            would_recommend=bool(row.would_recommend),
            comment=row.comment,
            answered_at=row.answered_at,
        )


class ClosureStatus(Output):
    due: bool
    answer: ClosureRead | None
