"""Errors every interface turns into the same thing: a 4xx, a CLI message, a form error."""

from __future__ import annotations

from collections.abc import Sequence


class InputError(ValueError):
    """Bad input, naming the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


class NotFound(InputError):
    """A clinic, patient, practitioner or visit that does not exist (or is not the caller's to see)."""


class FieldProblems(InputError):
    """Every field of a change at fault, for an interface that shows them all; the first is the InputError's own."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__(*self.problems[0])
