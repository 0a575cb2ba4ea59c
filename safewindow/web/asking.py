"""The advisor as the web asks it: every field's problems at once (with the service's own parsers, so every
message is the CLI's), then services.advice.ask."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from safewindow.domain.advice import Advice, UnknownName, find_treatment
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.advice import ask, check_factors, parse_day, parse_history
from safewindow.services.errors import InputError


@dataclass(frozen=True, slots=True)
class Question:
    """A question as text, the way a request carries it. `history` pairs each item with the field it came from:
    the API reports them all as "history", a form names its row."""

    treatment: str
    history: Sequence[tuple[str, str]]
    factors: Sequence[str]
    on: str | None


def quoted(text: str, limit: int = 60) -> str:
    """repr() of what a visitor typed, cut short so an error message never grows with the input."""
    return repr(text if len(text) <= limit else f"{text[:limit]}...")


class InputErrors(ValueError):
    """Every field's problem, for an interface that shows them all together."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


def day_asked(text: str | None, field: str, errors: dict[str, str]) -> date | None:
    """A day typed into a form: None when left blank or not a day, its problem then kept in `errors` under
    `field`, so a page shows it beside the others."""
    if not text:
        return None
    try:
        return parse_day(text, field)
    except InputError as error:
        errors[field] = error.problem
        return None


def _treatment(kb: KnowledgeBase, text: str) -> None:
    try:
        find_treatment(kb, text.strip())
    except UnknownName as error:
        raise InputError("treatment", str(error)) from None


def _history_item(kb: KnowledgeBase, item: str, field: str) -> None:
    parse_history([item], kb, field)


def check_question(kb: KnowledgeBase, question: Question) -> list[InputError]:
    """Each field's first problem, in the order the CLI checks them: treatment, history, factor, on."""
    problems: list[InputError] = []

    def attempt(check: Callable[..., object], *args: object) -> None:
        try:
            check(*args)
        except InputError as error:
            problems.append(error)

    attempt(_treatment, kb, question.treatment)
    for field, item in question.history:
        attempt(_history_item, kb, item, field)
    attempt(check_factors, question.factors, kb)
    if question.on is not None:
        attempt(parse_day, question.on, "on")
    return problems


def ask_question(kb: KnowledgeBase, question: Question, *, today: date) -> Advice:
    """The advice, or InputErrors naming every bad field."""
    problems = check_question(kb, question)
    if problems:
        raise InputErrors(problems)
    return ask(
        kb, question.treatment, [item for _, item in question.history], question.factors, today=today, on=question.on
    )


def history_from(items: Iterable[str]) -> list[tuple[str, str]]:
    """The API's repeated `history` parameter, each item reported as the field "history"."""
    return [("history", item) for item in items]
