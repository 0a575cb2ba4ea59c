"""Real databases for integration tests: SQLite in a temporary file, and PostgreSQL when
SAFEWINDOW_TEST_POSTGRES_URL names a server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).

Fixtures to reuse, each run once per backend:
    database_url      an empty database
    migrated_url      the same, upgraded to head
    engine            an engine on migrated_url (safewindow's pragmas and BEGIN hooks)
    session_factory   a sessionmaker on that engine
    uow               a factory: `uow(write=True)` gives a fresh UnitOfWork

PostgreSQL gets one fresh, uniquely named database per test session (per xdist worker), dropped at the end;
each test starts from an empty schema. Without the variable its tests skip; with CI=true a missing or
unreachable PostgreSQL fails instead."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import NoReturn
from uuid import uuid4

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.patients import add_patient
from safewindow.store import migrate
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork

POSTGRES_ENV = "SAFEWINDOW_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true, so the PostgreSQL tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        _unavailable(f"{POSTGRES_ENV} is not set")
    name = f"safewindow_test_{uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as error:
        admin.dispose()
        where = make_url(server).render_as_string(hide_password=True)
        _unavailable(f"PostgreSQL at {where} is unreachable: {error.orig}")
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            # A connection an earlier test leaked would hold locks the DROP waits for.
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'safewindow.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Callable[..., UnitOfWork]:
    def make(*, write: bool = False) -> UnitOfWork:
        return UnitOfWork(session_factory, write=write)

    return make


# The clinic's clock in these tests: Wednesday 25 Nov 2026, 09:00 in Abbotsford.
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@pytest.fixture
def sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A store with the demo Abbotsford clinics, staff and patients."""
    with UnitOfWork(session_factory, write=True) as uow:
        load_demo(uow.session)
        uow.commit()
    return session_factory


@pytest.fixture
def new_patient(sessions: sessionmaker[Session]) -> Callable[..., int]:
    """Adds a patient with treatments had elsewhere (`SLUG@YYYY-MM-DD`) and factors; returns their id."""

    def make(*history: str, factors: tuple[str, ...] = (), name: str = "Test Patient", email: str | None = None) -> int:
        patient = add_patient(
            sessions,
            default_knowledge_base(),
            name=name,
            birth_date="1990-01-01",
            actor="test",
            today=NOW.date(),
            history=history,
            factors=factors,
            email=email,
        )
        return patient.id

    return make
