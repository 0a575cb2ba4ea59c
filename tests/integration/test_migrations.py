"""The migrations build the schema the models describe, and take it down again, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from safewindow.store import migrate
from safewindow.store.database import make_engine
from safewindow.store.models import Base

TABLES = set(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_upgrade_to_head_then_downgrade_to_base_and_up_again(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _tables(database_url) == TABLES
    assert _revision(database_url) == migrate.head_revision()

    migrate.downgrade(database_url, migrate.BASE)
    assert _tables(database_url) == set()
    assert _revision(database_url) is None

    migrate.upgrade(database_url)
    assert _tables(database_url) == TABLES


def test_upgrading_twice_changes_nothing(migrated_url: str) -> None:
    migrate.upgrade(migrated_url)
    assert _revision(migrated_url) == migrate.head_revision()


def test_the_migrated_schema_matches_the_models(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
