"""Alembic's environment: runs migrations on an engine made by safewindow, so SQLite gets its pragmas and
transactional DDL (a failed migration leaves nothing half-done)."""

from __future__ import annotations

from alembic import context

from safewindow.store.database import make_engine
from safewindow.store.models import Base

config = context.config
url: str = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or ""
if not url:
    raise RuntimeError("no database URL: use safewindow.store.migrate.upgrade(url)")


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                compare_type=True,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
