"""Alembic, configured in code: `upgrade(url)` and `downgrade(url, revision)`, no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
BASE = "base"
HEAD = "head"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # An attribute, not a main option: the ini layer would read a "%" in a password as interpolation.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = HEAD) -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = BASE) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
