"""Shapes shared by every router: problem documents, people, reasons."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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


class Reason(Input):
    reason: str = Field(min_length=1, max_length=2000)


class OptionalReason(Input):
    reason: str = Field(default="", max_length=2000)
