"""The days a clinic's report covers (late cancellations and no-shows), as every interface asks for them: `from`
and `to`, YYYY-MM-DD in the clinic's zone, both included; by default the 30 days up to today. A report spans a
year at most, as a closure does."""

from __future__ import annotations

from datetime import date, timedelta

from safewindow.services.advice import parse_day
from safewindow.services.errors import FieldProblems, InputError

DEFAULT_DAYS = 30
LONGEST = timedelta(days=366)


def report_days(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """`first` to `last`, each named by its field (`from`, `to`) when it is not a day; `to` defaults to today and
    `from` to the 30 days that end on `to`."""
    days: dict[str, date] = {}
    problems = []
    for field, text in (("from", first), ("to", last)):
        if text is not None:
            try:
                days[field] = parse_day(text, field)
            except InputError as error:
                problems.append((error.field, error.problem))
    if problems:
        raise FieldProblems(problems)
    ends = days.get("to", today)
    begins = days.get("from", ends - timedelta(days=DEFAULT_DAYS - 1))
    if ends < begins:
        raise InputError("to", f"the last day ({ends}) comes before the first ({begins}); swap them")
    if ends - begins >= LONGEST:
        raise InputError("to", "ask for at most a year at a time")
    return begins, ends
