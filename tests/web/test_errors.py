"""The last resort: an unexpected error is a generic 500 whose log holds no health data. (The other tests and
schemathesis show that no input reaches it.)"""

from __future__ import annotations

import logging
import re
from typing import NoReturn

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from safewindow.services.errors import InputError
from safewindow.web.access_log import WithoutQueryStrings, log_config
from safewindow.web.app import create_app
from safewindow.web.settings import WebSettings


def broken_app() -> FastAPI:
    app = create_app()
    router = APIRouter()

    @router.get("/api/v1/broken", response_model=None)
    @router.get("/broken", response_model=None)
    async def broken(history: str = "") -> NoReturn:
        raise RuntimeError(f"cannot handle {history}")

    app.include_router(router)
    return app


@pytest.mark.parametrize("path", ["/api/v1/broken", "/broken"])
def test_an_unexpected_error_is_a_generic_500_and_its_log_holds_no_health_data(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="safewindow.web"), TestClient(broken_app()) as client:
        response = client.get(path, params={"history": "microneedling@2026-11-10"})
    assert response.status_code == 500
    assert "microneedling" not in response.text and "Traceback" not in response.text
    if path.startswith("/api/"):
        assert response.json()["detail"][0]["field"] == "server"
    else:
        assert "Something went wrong on our side" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    [record] = [r for r in caplog.records if r.name == "safewindow.web"]
    logged = record.getMessage()
    assert f"unhandled RuntimeError in GET {path}" in logged
    assert "microneedling" not in logged and "2026-11-10" not in logged and "?" not in logged.splitlines()[0]


def test_the_access_log_leaves_out_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/advice?treatment=botox&history=microneedling%402026-11-10", "1.1", 200),
        None,
    )
    assert WithoutQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/advice HTTP/1.1" 200'
    handler = log_config()["handlers"]["access"]
    assert "without_query_strings" in handler["filters"]


def test_pages_answer_unknown_paths_with_an_html_404(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text and re.search(r'<main id="main"', response.text)


def test_bytes_that_are_not_utf8_are_bad_input_not_a_crash(client: TestClient) -> None:
    api = client.get("/api/v1/advice?treatment=%ff%fe&history=%00&on=%ED%A0%80")
    assert api.status_code == 422
    assert [p["field"] for p in api.json()["detail"]] == ["treatment", "history", "on"]
    assert client.get("/when?treatment=botox&history_treatment=%ff&history_date=%ff").status_code == 400


def test_a_wrong_zone_setting_stops_the_start_naming_the_variable() -> None:
    with pytest.raises(InputError, match="SAFEWINDOW_ZONE: 'Mars/Olympus' is not a known time zone"):
        create_app(WebSettings(zone="Mars/Olympus"))


def test_the_docs_page_runs_swagger_ui_under_its_own_narrow_policy(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and "SwaggerUIBundle" in response.text
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self' https://cdn.jsdelivr.net 'sha256-" in policy
        and "'unsafe-inline'" not in policy.split("style-src")[0]
    )
    assert "frame-ancestors 'none'" in policy and response.headers["x-content-type-options"] == "nosniff"
