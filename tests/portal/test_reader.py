"""How figures look to the reader of a portal page: German readers get a decimal comma."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from api.portal.reader import Reader


def reader(accept_language: str) -> Reader:
    scope = {"type": "http", "headers": [(b"accept-language", accept_language.encode())]}
    return Reader.of(Request(scope), "Europe/Berlin")


@pytest.mark.parametrize(
    ("language", "value", "shown"),
    [("de-DE", 12.0, "12"), ("de-DE", 2.67, "2,67"), ("en-GB", 2.67, "2.67"), ("en-US", 1234.5, "1,234.5")],
)
def test_figures_follow_the_readers_language(language: str, value: float, shown: str) -> None:
    assert reader(language).number(value) == shown
