"""Schemathesis over ``/openapi.json``, in-process, as each role: whatever the generated request
(valid data, and data the schema forbids), the answer is no server error, its status code is
documented for the operation, its content type is the documented one and its body has the
documented shape.

A few examples per operation and kind keep the whole run (four roles) to about 20 seconds here;
the examples are derandomized, so a failure shows again on the next run, with the request to
reproduce it in the message. SQLite only: the answers' shapes do not depend on the database.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from models.settings import Settings
from tests.api.helpers import Flow
from tests.support import Clock, People, mint_token

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

#: Examples per operation and role, of each kind of data. Generating them costs more than
#: answering them (about 15 ms each here): this is what keeps the run short. To look deeper by
#: hand, multiply them: ``MENTORFLOW_SCHEMATHESIS_DEPTH=50 pytest tests/api/test_schemathesis.py``.
DEPTH = int(os.environ.get("MENTORFLOW_SCHEMATHESIS_DEPTH", "1"))
EXAMPLES = {GenerationMode.POSITIVE: 2 * DEPTH, GenerationMode.NEGATIVE: 1 * DEPTH}


def _settings(mode: GenerationMode) -> settings:
    return settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("role", ["anonymous", "mentee", "mentor", "operator"])
def test_every_operation_answers_as_documented(
    client: TestClient, flow: Flow, people: People, clock: Clock, settings: Settings, role: str
) -> None:
    # a pair with a meeting, so that small generated ids find real objects now and then
    pair = flow.pair("intro")
    flow.propose(pair)
    operator = people.operator()
    person = {"anonymous": None, "mentee": pair.mentee, "mentor": pair.mentor, "operator": operator}[role]

    def sign_in() -> dict[str, str]:
        if person is None:
            return {}
        return {"Authorization": f"Bearer {mint_token(person.engine, settings, person.id, now=clock.now)}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures = [
        failure
        for result in schema.get_all_operations()
        for mode in EXAMPLES
        if (failure := _explore(result.ok(), mode, sign_in))  # type: ignore[union-attr]
    ]
    assert not failures, "\n\n".join(failures)


def _explore(operation: Any, mode: GenerationMode, sign_in: Callable[[], dict[str, str]]) -> str:
    """Generated requests to ``operation``; what failed, or ""."""
    # One sign-in per operation; a new one for each request where a generated sign-out, new
    # password or erasure may have ended the one before.
    ends_sign_ins = operation.path.startswith("/api/auth/") or operation.path.endswith("/erase")
    headers = sign_in()

    @given(case=operation.as_strategy(generation_mode=mode))
    @_settings(mode)
    def check(case: Any) -> None:
        case.call_and_validate(headers=sign_in() if ends_sign_ins else headers, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        pass  # nothing the schema forbids can be sent (no parameters, no body)
    except FailureGroup as failure:
        return f"{operation.label} ({mode.value}): {failure}"
    return ""
