"""Ask the advisor from text input, as every interface receives it: `SLUG@YYYY-MM-DD` history items,
factor ids, an optional proposed date. Bad input raises InputError naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from safewindow.domain.advice import Advice, UnknownName, advise, find_factor, find_treatment
from safewindow.domain.history import PastVisit
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.errors import InputError

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)  # far from date's limits, so day arithmetic never overflows


def _quoted(text: str, limit: int = 60) -> str:
    """What was typed, cut short so an error message never grows with the input."""
    return repr(text if len(text) <= limit else f"{text[:limit]}...")


def parse_day(text: str, field: str) -> date:
    text = text.strip()
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 4 for p in parts) or len(parts[0]) != 4:
        raise InputError(field, f"{_quoted(text)} is not a date in YYYY-MM-DD form")
    try:
        day = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError as error:
        raise InputError(field, f"{_quoted(text)} is not a real date ({error})") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(field, f"{text} is outside the dates safewindow works with ({FIRST_DAY} to {LAST_DAY})")
    return day


def parse_history(items: Iterable[str], kb: KnowledgeBase, field: str = "history") -> list[PastVisit]:
    """Each item is `SLUG@YYYY-MM-DD`, or several of them separated by commas."""
    visits = []
    for item in items:
        for piece in item.split(","):
            piece = piece.strip()
            if not piece:
                raise InputError(field, "empty history item; use SLUG@YYYY-MM-DD")
            slug, at, day = piece.partition("@")
            if not at or not slug.strip() or not day.strip():
                raise InputError(field, f"{_quoted(piece)} is not SLUG@YYYY-MM-DD")
            try:
                find_treatment(kb, slug.strip())
            except UnknownName as error:
                raise InputError(field, str(error)) from None
            visits.append(PastVisit(slug.strip(), parse_day(day, field)))
    return visits


def check_factors(factors: Iterable[str], kb: KnowledgeBase, field: str = "factor") -> list[str]:
    chosen = []
    for factor in factors:
        for piece in factor.split(","):
            try:
                chosen.append(find_factor(kb, piece.strip()).id)
            except UnknownName as error:
                raise InputError(field, str(error)) from None
    return chosen


def ask(
    kb: KnowledgeBase,
    treatment: str,
    history: Iterable[str],
    factors: Iterable[str],
    *,
    today: date,
    on: str | None = None,
) -> Advice:
    try:
        find_treatment(kb, treatment.strip())
    except UnknownName as error:
        raise InputError("treatment", str(error)) from None
    visits = parse_history(history, kb)
    chosen = check_factors(factors, kb)
    proposed = parse_day(on, "on") if on is not None else None
    return advise(kb, treatment.strip(), visits, chosen, today=today, on=proposed)
