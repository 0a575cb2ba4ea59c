"""Schemathesis against the whole API as the clinic administrator sees it (a bearer token; the role that may
call the most), in process over ASGI on the demo clinics: for inputs generated from the schema, valid and
invalid alike, no response is a 5xx and every response matches what the schema declares. Signing out is left
out (it would end the token every other call uses); test_api_sessions.py covers it. Examples are bounded."""

from __future__ import annotations

from collections.abc import Iterator

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

from safewindow.store.database import make_engine, make_session_factory
from safewindow.web.app import create_app
from tests.web.test_api_demo import open_demo

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# The routers covered, by their OpenAPI tag: a router joins once its responses are documented (400 for a body
# that is not JSON, 401/403/404/409 where they can happen).
TAGS = ["api", "sessions", "clinics", "patients", "visits", "audit"]
# The schema is read when the module is collected; the app gets the demo's store in the fixture below (its
# engine is made lazily, so this placeholder is never opened).
app = create_app(sessions=make_session_factory(make_engine("sqlite://")))
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", app)
    .include(tag=TAGS)
    .exclude(method="DELETE", path="/api/v1/sessions")
)


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The administrator's bearer header, with `app` on the demo clinics' store."""
    with open_demo(tmp_path_factory.mktemp("schemathesis")) as demo:
        app.state.sessions = demo.sessions
        yield demo.headers("clinic admin")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema_for_an_administrator(case: schemathesis.Case, admin: dict[str, str]) -> None:
    case.call_and_validate(headers=admin, checks=CHECKS)
