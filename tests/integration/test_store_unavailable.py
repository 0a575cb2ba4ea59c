"""A database that is down, busy or not upgraded is a 503 the visitor may retry, on the API and on the pages, never
a 500 nor a traceback; its log line names the error's type and never the statement's parameters. A mistake in a
statement is still a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import NoReturn

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError, ProgrammingError

from safewindow.store.database import make_engine, make_session_factory
from safewindow.web.app import create_app


def app_on(url: str) -> Iterator[TestClient]:
    engine = make_engine(url)
    try:
        with TestClient(create_app(sessions=make_session_factory(engine))) as client:
            yield client
    finally:
        engine.dispose()


@pytest.fixture
def not_upgraded(database_url: str) -> Iterator[TestClient]:
    """The app on an empty database of either kind: `safewindow db upgrade` never ran."""
    yield from app_on(database_url)


@pytest.fixture
def unreachable() -> Iterator[TestClient]:
    """The app on a PostgreSQL server that is not there (nothing listens on port 1)."""
    yield from app_on("postgresql+psycopg://postgres@127.0.0.1:1/safewindow?connect_timeout=2")


def assert_retry_later_json(response: object) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "30"  # type: ignore[attr-defined]
    [problem] = response.json()["detail"]  # type: ignore[attr-defined]
    assert problem["field"] == "server" and "try again" in problem["problem"]


def assert_unavailable(client: TestClient) -> None:
    assert_retry_later_json(client.get("/api/v1/clinics"))
    page = client.get("/book")
    assert page.status_code == 503 and page.headers["retry-after"] == "30"
    assert "Temporarily unavailable" in page.text and "Traceback" not in page.text


def test_an_empty_database_is_503_on_the_api_and_the_pages(not_upgraded: TestClient) -> None:
    assert_unavailable(not_upgraded)


def test_an_unreachable_server_is_503_on_the_api_and_the_pages(unreachable: TestClient) -> None:
    assert_unavailable(unreachable)


def test_the_public_calculator_still_works_without_a_database(unreachable: TestClient) -> None:
    response = unreachable.get("/when")  # the knowledge base is files: no database needed
    assert response.status_code == 200


def raising(error: Exception) -> FastAPI:
    app = create_app()
    router = APIRouter()

    @router.get("/api/v1/raise", response_model=None)
    async def raise_it() -> NoReturn:
        raise error

    app.include_router(router)
    return app


class Orig(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__("driver message")
        self.sqlstate = sqlstate


def test_the_log_names_the_error_type_but_not_the_statement_or_its_parameters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = OperationalError("SELECT * FROM visits WHERE note = %(note)s", {"note": "microneedling"}, Orig(None))
    with caplog.at_level(logging.ERROR, logger="safewindow.web"), TestClient(raising(error)) as client:
        response = client.get("/api/v1/raise")
    assert_retry_later_json(response)
    [record] = [r for r in caplog.records if r.name == "safewindow.web"]
    logged = record.getMessage()
    assert "OperationalError" in logged and "/api/v1/raise" in logged
    assert "microneedling" not in logged and "SELECT" not in logged


def test_a_missing_table_is_503_but_a_mistake_in_a_statement_is_still_500() -> None:
    missing = ProgrammingError("SELECT 1 FROM visits", {}, Orig("42P01"))
    with TestClient(raising(missing)) as client:
        assert_retry_later_json(client.get("/api/v1/raise"))
    mistake = ProgrammingError("SELEC 1", {}, Orig("42601"))
    with TestClient(raising(mistake), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/raise")
    assert response.status_code == 500
    assert response.json()["detail"][0]["field"] == "server"
