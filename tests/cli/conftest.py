"""Fixtures for the command-line tests."""

from __future__ import annotations

import os

import pytest

from tests.cli.clinic_cli import run


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated SQLite file with the demo clinics, named by SAFEWINDOW_DATABASE_URL."""
    path = tmp_path_factory.mktemp("cli") / "clinic.sqlite3"
    environment = {**os.environ, "SAFEWINDOW_DATABASE_URL": f"sqlite:///{path}", "COLUMNS": "200"}
    for command in (["db", "upgrade"], ["demo", "load"]):
        assert run(environment, *command).returncode == 0
    return environment
