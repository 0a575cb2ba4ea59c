"""The calculator's form: its rows of past treatments, its errors beside their fields, and the plain words for
an answer without an ideal window. Presentation only: the advice itself comes from the advisor."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

from safewindow.domain.advice import Advice
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.errors import InputError

HISTORY_ROWS = 4  # rows on an empty form; a sent form keeps its filled rows and always has an empty one


@dataclass(frozen=True, slots=True)
class HistoryRow:
    index: int
    treatment: str
    day: str
    error: str | None = None
    error_on: str = "date"  # which of the row's inputs the error is about: "treatment" or "date"


def rows_of(treatments: list[str], days: list[str]) -> tuple[list[HistoryRow], list[InputError]]:
    """Pair the form's selects and date inputs by position, keeping the rows that hold anything (numbered
    afresh, as the form shows them again). A half-filled row is an error on the half that is missing."""
    rows, problems = [], []
    pairs = ((slug.strip(), day.strip()) for slug, day in zip_longest(treatments, days, fillvalue=""))
    for index, (slug, day) in enumerate((slug, day) for slug, day in pairs if slug or day):
        if not slug:
            problems.append(InputError(f"history-{index}-treatment", "choose the treatment on this date"))
        elif not day:
            problems.append(InputError(f"history-{index}-date", "give the date of this treatment"))
        rows.append(HistoryRow(index, slug, day))
    return rows, problems


def with_errors(rows: list[HistoryRow], problems: list[InputError]) -> list[HistoryRow]:
    by_row: dict[int, InputError] = {}
    for problem in problems:
        parts = problem.field.split("-")
        if parts[0] == "history" and len(parts) >= 2 and parts[1].isdigit():
            by_row.setdefault(int(parts[1]), problem)
    result = []
    for row in rows:
        error = by_row.get(row.index)
        if error is None:
            result.append(row)
        else:
            on = "treatment" if error.field.endswith("-treatment") else "date"
            result.append(HistoryRow(row.index, row.treatment, row.day, error.problem, on))
    spare = max(HISTORY_ROWS - len(result), 1)
    result += [HistoryRow(len(result) + i, "", "") for i in range(spare)]
    return result


def summary_line(problem: InputError) -> tuple[str, str]:
    """(the id of the input to go to, what to say) for the list of problems above the form."""
    parts = problem.field.split("-")
    if parts[0] == "history" and len(parts) >= 2:
        target = problem.field if len(parts) == 3 else f"{problem.field}-date"
        return target, f"Treatment {int(parts[1]) + 1}: {problem.problem}"
    labels = {"treatment": "Treatment you would like", "factor": "About you", "on": "Date you have in mind"}
    target = {"factor": "factors"}.get(problem.field, problem.field)
    return target, f"{labels.get(problem.field, problem.field)}: {problem.problem}"


def no_ideal_window(kb: KnowledgeBase, advice: Advice, name: str) -> str:
    """Why there is no ideal window, in plain words, from the reasons the advisor gave."""
    for reason in advice.reasons:
        if reason.rule == "ideal-windows-disjoint":
            return reason.message
    rule_ids = {rule.id for rule in kb.rules}
    if not any(reason.rule in rule_ids for reason in advice.reasons):
        return (
            f"No timing rule links {name} to the treatments you listed, so there is no ideal window to aim for: "
            "any day from the earliest date suits, as far as timing goes."
        )
    return "None of the rules below gives an ideal window that is still open, so only their minimum waits apply."
