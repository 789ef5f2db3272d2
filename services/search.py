"""Searching text columns for what a person typed: part of a word, any case, and as text
(``%`` and ``_`` match themselves, not any characters)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func


def contains(column: ColumnElement[str] | object, words: str) -> ColumnElement[bool]:
    """``column`` holds ``words`` somewhere, case aside (SQLite's lower() is made to know every
    letter, ``models.db``)."""
    escaped = words.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")
