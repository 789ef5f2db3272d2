"""Shapes shared by every router: problem documents, people, reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: One topic in a list (a profile's, a meeting's): a catalogue slug or a few words of one's own.
TopicName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Input(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a 422 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    loc: list[str | int]
    field: str
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class PersonRef(Output):
    id: int
    display_name: str
    deactivated_at: datetime | None = None  # an operator stopped this person (or they were erased)


class Reason(Input):
    reason: str = Field(min_length=1, max_length=2000)


class OptionalReason(Input):
    reason: str = Field(default="", max_length=2000)
