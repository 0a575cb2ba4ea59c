"""The web application in process: `client` speaks HTTP to the ASGI app through httpx (Starlette's TestClient).
The clinic's today is fixed to 11 Nov 2026, the day after the seed's microneedling, through the `today`
dependency; `kb` is the shipped knowledge base the app serves."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.web.app import create_app
from safewindow.web.dependencies import today

# Starlette asks for `httpx2` in its test client; the pinned `httpx` works and is what the project installs.
warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402

TODAY = date(2026, 11, 11)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


@pytest.fixture(scope="session")
def app() -> FastAPI:
    application = create_app()
    application.dependency_overrides[today] = lambda: TODAY
    return application


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 500 must show up as a 500 here, exactly as a visitor would get it.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def real_client() -> Iterator[TestClient]:
    """The app on the real clock, for what the fixed today skips: the `zone` parameter and the clinic's today."""
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client
