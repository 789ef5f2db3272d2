"""The OpenAPI document describes every contract operation and its problems; health checks."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.app import create_app
from models.settings import get_settings
from tests.api.helpers import CONTRACT, Operation
from tests.engine.harness import free_port

# What each kind of write can answer besides success (besides 401 and 422, which every
# operation documents).
LIFECYCLE = {403, 404, 409}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    app = create_app(get_settings(), engine=create_engine("sqlite://"))
    with TestClient(app) as c:
        r = c.get("/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("op", CONTRACT, ids=str)
def test_every_contract_operation_is_described(openapi: dict[str, Any], op: Operation) -> None:
    paths = openapi["paths"]
    assert op.path in paths, f"{op} missing from /openapi.json"
    described = paths[op.path].get(op.method.lower())
    assert described is not None, f"{op} missing from /openapi.json"
    responses = described["responses"]
    assert any(code.startswith("2") for code in responses), op
    assert "401" in responses, op
    if op.body is not None or op.path.endswith(("{mentorship_id}", "{meeting_id}")):
        assert "422" in responses, op
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            content = response.get("content", {})
            assert "application/problem+json" in content, (op, code)
    if op.body is not None:
        assert "requestBody" in described, op
    if "{" in op.path:
        assert "404" in responses, op


LIFECYCLE_WRITES = [
    o for o in CONTRACT if o.write and o.path.startswith(("/api/mentorships", "/api/meetings"))
]


@pytest.mark.parametrize("op", LIFECYCLE_WRITES, ids=str)
def test_lifecycle_writes_document_their_refusals(openapi: dict[str, Any], op: Operation) -> None:
    responses = openapi["paths"][op.path][op.method.lower()]["responses"]
    missing = {str(s) for s in LIFECYCLE | {401, 422}} - set(responses)
    if op.path == "/api/mentorships":
        missing.discard("404")  # a request names no existing mentorship
    assert not missing, (str(op), missing)


def test_other_writes_document_their_refusals(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    assert {"401", "403", "409", "422"} <= set(paths["/api/users"]["post"]["responses"])
    assert {"401", "403", "422"} <= set(paths["/api/me/profile"]["put"]["responses"])
    assert {"401", "404"} <= set(paths["/api/me/notifications/{notification_id}/read"]["post"]["responses"])
    assert {"401", "422"} <= set(paths["/api/auth/token"]["post"]["responses"])
    assert "application/x-www-form-urlencoded" in (paths["/api/auth/token"]["post"]["requestBody"]["content"])


def test_the_problem_schema_is_described(openapi: dict[str, Any]) -> None:
    problem = openapi["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    schemes = openapi["components"]["securitySchemes"]
    assert any(s.get("type") == "oauth2" for s in schemes.values())


def test_liveness_and_readiness(client: TestClient) -> None:
    r = client.get("/healthz")
    assert (r.status_code, r.json()["status"]) == (200, "ok")
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"
    assert r.json()["database"] == "ok"
    assert "engine" in r.json()


def test_readiness_says_the_engine_is_degraded_while_prefect_does_not_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ready all the same: facts are accepted and stored, the engine catches up later."""
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")  # nothing listens
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "database": "ok", "engine": "degraded"}
    monkeypatch.delenv("PREFECT_API_URL")
    assert client.get("/readyz").json()["engine"] == "not configured"


def test_unknown_paths_are_problems_too(client: TestClient) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.delete("/api/me")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/problem+json")


VERSIONED_WRITES = [
    o
    for o in LIFECYCLE_WRITES
    if not o.path.endswith(("/meetings", "/feedback")) and o.path != "/api/mentorships"
]


@pytest.mark.parametrize("op", VERSIONED_WRITES, ids=str)
def test_writes_on_versioned_things_document_if_match_and_412(openapi: dict[str, Any], op: Operation) -> None:
    described = openapi["paths"][op.path][op.method.lower()]
    assert "412" in described["responses"], op
    headers = {p["name"].lower() for p in described.get("parameters", []) if p["in"] == "header"}
    assert {"if-match", "idempotency-key"} <= headers, (str(op), headers)


@pytest.mark.parametrize("op", [o for o in CONTRACT if o.write and o.path != "/api/auth/token"], ids=str)
def test_every_write_documents_the_idempotency_key(openapi: dict[str, Any], op: Operation) -> None:
    described = openapi["paths"][op.path][op.method.lower()]
    headers = {p["name"].lower() for p in described.get("parameters", []) if p["in"] == "header"}
    assert "idempotency-key" in headers, str(op)


def test_every_operation_with_a_body_documents_400(openapi: dict[str, Any]) -> None:
    """FastAPI answers 400 for a body it cannot read, before any route runs (Schemathesis
    found it undocumented): each operation that takes a body says so, as a problem."""
    with_body = [
        (method, path, described)
        for path, operations in openapi["paths"].items()
        for method, described in operations.items()
        if "requestBody" in described
    ]
    assert len(with_body) >= len([o for o in CONTRACT if o.body is not None])
    for method, path, described in with_body:
        bad_request = described["responses"].get("400")
        assert bad_request is not None, (method, path)
        assert "application/problem+json" in bad_request["content"], (method, path)
    without_body = openapi["paths"]["/api/mentorships/{mentorship_id}"]["get"]["responses"]
    assert "400" not in without_body


def _unbounded(schema: dict[str, Any], where: str, spec: dict[str, Any], seen: frozenset[str]) -> list[str]:
    """Every string without ``maxLength`` and list without ``maxItems`` that ``schema`` lets a
    client send (dates, enums and constants are bounded by their form, addresses by theirs:
    at most 254 characters)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _unbounded(spec["components"]["schemas"][name], name, spec, seen | {name})
    found = []
    for sub in (*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())):
        found += _unbounded(sub, where, spec, seen)
    kind = schema.get("type")
    bounded_by_form = (
        "enum" in schema or "const" in schema or schema.get("format") in ("date", "date-time", "email")
    )
    if kind == "string" and "maxLength" not in schema and not bounded_by_form:
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += _unbounded(schema.get("items", {}), f"{where}[]", spec, seen)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(sub, f"{where}.{name}", spec, seen)
    return found


def test_every_string_and_list_a_client_sends_has_a_bound(openapi: dict[str, Any]) -> None:
    """Bodies, path and query parameters: a client cannot store or make us parse a string or a
    list of any length (besides the 1 MB cap on bodies), whichever operation it calls."""
    unbounded = []
    for path, methods in openapi["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            for body in op.get("requestBody", {}).get("content", {}).values():
                unbounded += [
                    f"{where}: {f}" for f in _unbounded(body["schema"], where, openapi, frozenset())
                ]
            for parameter in op.get("parameters", ()):
                found = _unbounded(parameter.get("schema", {}), parameter["name"], openapi, frozenset())
                unbounded += [f"{where}: {f}" for f in found]
    assert unbounded == [], "\n".join(unbounded)
