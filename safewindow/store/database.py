"""Where the data lives, and engines and sessions for it.

SQLite in `SAFEWINDOW_DATA_DIR` is the embedded default; `SAFEWINDOW_DATABASE_URL` names another database
(PostgreSQL through psycopg 3: `postgresql+psycopg://user@host/db`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_FILE = "safewindow.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# An execution option a session or connection carries to say how SQLite should begin its transactions.
SQLITE_BEGIN = "safewindow_sqlite_begin"
IMMEDIATE = "IMMEDIATE"


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEWINDOW_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None

    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / SQLITE_FILE).resolve()}"


def database_url(settings: StoreSettings | None = None) -> str:
    return (settings or StoreSettings()).url()


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`; on SQLite with WAL, a busy timeout, foreign keys and explicit BEGINs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **options)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: a use case returns what it stored without another round trip.
    return sessionmaker(bind=engine, expire_on_commit=False)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 driver's own transaction handling skips BEGIN before SELECTs and cannot BEGIN IMMEDIATE
    # on request, so it is switched off here and `_begin_sqlite_transaction` says BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers run while one writer books; the busy timeout makes a second writer wait its turn
        # instead of failing at once.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A booking reads the calendar and then writes into it: BEGIN IMMEDIATE takes the write lock before the
    # read, so two bookings of one slot are serialised instead of both seeing it free.
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    if mode not in ("DEFERRED", IMMEDIATE, "EXCLUSIVE"):
        raise ValueError(f"{SQLITE_BEGIN} must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")
