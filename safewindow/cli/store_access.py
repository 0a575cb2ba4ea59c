"""How commands reach the store: the URL from SAFEWINDOW_DATABASE_URL (or the embedded SQLite file), and a
clear line instead of a traceback when the database is not set up yet."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.cli.output import fail
from safewindow.store.database import database_url, make_engine, make_session_factory
from safewindow.store.migrate import current_revision, head_revision


@lru_cache(maxsize=1)
def engine() -> Engine:
    return make_engine(database_url())


def sessions() -> sessionmaker[Session]:
    """A session factory on a database migrated to the latest revision, or exit 2 saying what to run."""
    try:
        revision = current_revision(engine())
    except OperationalError as error:
        fail(f"cannot reach the database ({error.orig}); check SAFEWINDOW_DATABASE_URL")
    if revision != head_revision():
        fail("the database is not up to date: run `safewindow db upgrade` first")
    return make_session_factory(engine())
