"""How every command speaks: JSON on stdout for machines, Rich for people, one clear line for bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from safewindow.services.errors import FieldProblems, InputError

console = Console()
BAD_INPUT = 2
REFUSED = 3


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


@contextmanager
def bad_input_exits(options: Mapping[str, str] | None = None) -> Iterator[None]:
    """Bad input ends the command with exit code 2 and a line naming the argument for each field at fault (all of
    a FieldProblems, so they are fixed in one go): never a traceback. `options` names a service's fields as the
    command's options where the two differ."""
    try:
        yield
    except InputError as error:
        problems = error.problems if isinstance(error, FieldProblems) else [(error.field, error.problem)]
        *first, last = (f"{_option((options or {}).get(field, field))}: {problem}" for field, problem in problems)
        for line in first:
            sys.stderr.write(f"error: {line}\n")
        fail(last)


def _option(field: str) -> str:
    return field if field.startswith("-") or field.isupper() else f"--{field.replace('_', '-')}"
