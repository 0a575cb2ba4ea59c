"""How every command speaks: JSON on stdout for machines, Rich for people, one clear line for bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from safewindow.services.errors import InputError

console = Console()
BAD_INPUT = 2
REFUSED = 3


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


@contextmanager
def bad_input_exits() -> Iterator[None]:
    """Bad input ends the command with exit code 2 and one line naming the argument: never a traceback."""
    try:
        yield
    except InputError as error:
        fail(f"{_option(error.field)}: {error.problem}")


def _option(field: str) -> str:
    return field if field.startswith("-") or field.isupper() else f"--{field.replace('_', '-')}"
