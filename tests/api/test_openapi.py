"""The OpenAPI document tells the truth (issue 9, point 7): 400 not 422, every error answer
documented with {"detail"}, and schemathesis finds no server error and no schema violation,
anonymously and with a token, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Bounded so that the four runs (two databases, with and without a token) stay well under a
# minute; each run still sends every operation valid and invalid data.
EXAMPLES = 8


def test_the_document_has_no_422_and_every_error_has_the_detail_schema(client):
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            errors = [code for code in responses if code.startswith(("4", "5"))]
            assert errors, (method, path)
            for code in errors:
                schema = responses[code]["content"]["application/json"]["schema"]
                if path != "/api/health":
                    assert schema == ERROR_REF, (method, path, code)
            if operation.get("security"):
                assert "401" in responses, (method, path)
            if "{video_id}" in path:
                assert "404" in responses, (method, path)


def test_the_documented_answers_are_the_real_ones(client, make_player):
    player = make_player()
    document = client.get("/openapi.json").json()
    missing = client.post("/api/auth/signup", json={})
    assert missing.status_code == 400
    assert "400" in document["paths"]["/api/auth/signup"]["post"]["responses"]
    unknown = client.get("/api/videos/00000000-0000-0000-0000-000000000000", headers=player.headers)
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"detail"}


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def player_headers(make_player):
    # One player per run, not per generated case (a sign-up and a login cost two argon2 hashes).
    return make_player().headers


# The same bounded, reproducible generation for both runs (with and without a token).
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _run(case, headers=None):
    case.call_and_validate(headers=headers, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_api_anonymously(case):
    _run(case)


@schema.parametrize()
@BOUNDED
def test_api_with_a_token(case, player_headers):
    _run(case, headers=player_headers)
