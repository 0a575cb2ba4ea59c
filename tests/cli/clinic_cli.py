"""Running `safewindow` as a user does: a real process, its exit code, its output; on a fresh SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)

TODAY = datetime.now(ZoneInfo("America/Vancouver")).date()


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safewindow.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(env: dict[str, str], *args: str) -> Any:
    """The JSON a command prints, asserting it succeeded."""
    result = run(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
