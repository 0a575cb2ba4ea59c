"""Schemathesis on one tag of the API as one demo sign-in: for inputs generated from the schema, never a 5xx and
every response as documented. The administrator's run (test_api_schemathesis_auth) gets only 403 from what a
practitioner may do, so such a tag gets a run of its own: `fuzzed, schema = tag_schema("orders")`, a module fixture
`yield from headers_of(fuzzed, folder, "practitioner")`, and `validate(case, headers)` under `@schema.parametrize()`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

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


def tag_schema(tag: str) -> tuple[FastAPI, OpenApiSchema]:
    """An app whose store the sign-in fixture sets, and its schema narrowed to `tag`."""
    app = create_app(sessions=make_session_factory(make_engine("sqlite://")))
    return app, schemathesis.openapi.from_asgi("/openapi.json", app).include(tag=tag)


def headers_of(app: FastAPI, folder: Path, who: str) -> Iterator[dict[str, str]]:
    """The app on a demo store in `folder`, and the headers of `who` signed in."""
    with open_demo(folder) as opened:
        app.state.sessions = opened.sessions
        yield opened.headers(who)


def validate(case: schemathesis.Case, headers: dict[str, str]) -> None:
    case.call_and_validate(headers=headers, checks=CHECKS)
