"""Schemathesis against /openapi.json, in process over ASGI: for inputs it generates from the schema, valid and
invalid alike, no response is a 5xx and every response matches what the schema declares (status, content type,
headers, body). Examples are bounded so the whole run takes seconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from safewindow.web.app import create_app
from tests.web.fuzz_as import headers_of, tag_schema, validate

# The public advice and catalogue API, anonymous; the signed-in API has its own run (test_api_schemathesis_auth).
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app()).include(tag="api")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_schema_is_openapi_3_1_and_documents_every_route() -> None:
    document = schema.raw_schema
    assert document["openapi"].startswith("3.1")
    public = {
        path
        for path, operations in document["paths"].items()
        if any("api" in operation.get("tags", []) for operation in operations.values())
    }
    assert public == {
        "/api/v1/advice",
        "/api/v1/treatments",
        "/api/v1/factors",
        "/api/v1/rules",
        "/api/v1/articles",
        "/api/v1/articles/{slug}",
        "/api/v1/ping",
    }


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema_and_never_fails(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)


# The consents API, as the two sign-ins that get furthest (test_api_consents.py has the behaviour): the clinic's
# administrator (past the role checks of every operation: writing forms, recording paper forms, withdrawing) and
# the patient (her own signatures, typed online). Each has its own app, since each fixture points its app at a
# demo store of its own.
consents_for_admin, consents_admin_schema = tag_schema("consents")
consents_for_patient, consents_patient_schema = tag_schema("consents")


@pytest.fixture(scope="module")
def consents_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from headers_of(consents_for_admin, tmp_path_factory.mktemp("consents-fuzz-admin"), "clinic admin")


@pytest.fixture(scope="module")
def consents_patient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from headers_of(consents_for_patient, tmp_path_factory.mktemp("consents-fuzz-patient"), "patient")


@consents_admin_schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_consents_api_conforms_to_its_schema_for_the_clinic_admin(
    case: schemathesis.Case[Any], consents_admin: dict[str, str]
) -> None:
    validate(case, consents_admin)


@consents_patient_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_consents_api_conforms_to_its_schema_for_the_patient(
    case: schemathesis.Case[Any], consents_patient: dict[str, str]
) -> None:
    validate(case, consents_patient)


# The injection map's sites: knowledge-base data, public, so fuzzed anonymously like the catalogue above.
injection_sites = schemathesis.openapi.from_asgi("/openapi.json", create_app()).include(tag="injection sites")


@injection_sites.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_injection_sites_conform_to_their_schema_and_never_fail(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
