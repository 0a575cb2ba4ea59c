"""`safewindow slots`, `book`, `reschedule`, `cancel`: booking that enforces the safe window.

A refused change exits with code 3 and every reason, and writes nothing; bad input exits with code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.output import REFUSED, bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.clock import clinic_zone
from safewindow.domain.deposits import dollars
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.advice import parse_day
from safewindow.services.booking import Override, Refused, book, cancel, reschedule
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import InputError
from safewindow.services.local_time import parse_local_time
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.records import booked_row, cancelled_row
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork


@contextmanager
def refusals_exit(as_json: bool) -> Iterator[None]:
    try:
        yield
    except Refused as refused:
        if as_json:
            print_json({"refused": True, "reasons": [p.as_dict() for p in refused.problems]})
        else:
            console.print("[bold red]Refused[/]; nothing was changed:")
            for problem in refused.problems:
                kind = f" ({problem.kind})" if problem.kind else ""
                console.print(f"  - [red]{problem.code}[/]{kind}: {problem.message}", soft_wrap=True)
        raise typer.Exit(REFUSED) from None


def _zone_of(clinic_id: int) -> str:
    with UnitOfWork(sessions()) as uow:
        return get_clinic(uow.session, clinic_id).time_zone


def _say(row: dict[str, Any], verb: str) -> None:
    console.print(
        f"[green]{verb}[/] visit {row['id']}: {row['treatment']} {row['start']} to {row['end']} "
        f"(practitioner {row['practitioner']}, room {row['room'] or '-'})"
    )
    if row["deposit_cents"]:
        console.print(f"  deposit {dollars(row['deposit_cents'])} asked to hold it (safewindow deposit {row['id']})")
    for warning in row["warnings"]:
        console.print(f"  [yellow]warning[/] {warning['rule']}: {warning['message']}", soft_wrap=True)
    for rule in row["overrides"]:
        console.print(f"  [yellow]overridden[/] {rule}")


def _override(reason: str | None, by: int | None) -> Override | None:
    if reason is None and by is None:
        return None
    if reason is None or not reason.strip():
        raise InputError("override-reason", "an override needs a written reason (--override-reason)")
    if by is None:
        raise InputError("by", "an override names the practitioner who makes it (--by PRACTITIONER_ID)")
    return Override(reason, by)


def slots(
    treatment: Annotated[str, typer.Argument(help="Treatment slug, e.g. botox.")],
    clinic: Annotated[int, typer.Option("--clinic", help="Clinic id.")],
    patient: Annotated[int | None, typer.Option("--patient", help="Only times safe for this patient.")] = None,
    practitioner: Annotated[int | None, typer.Option("--practitioner", help="Only this practitioner.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: today).")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="How many days to look at.")] = 30,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many slots.")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Bookable times, earliest first, each marked ideal or allowed for the patient's timing rules."""
    with bad_input_exits():
        first = parse_day(start, "from") if start else None
        found = find_slots_for(
            sessions(),
            default_knowledge_base(),
            treatment=treatment,
            clinic_id=clinic,
            patient_id=patient,
            practitioner_id=practitioner,
            first_day=first,
            days=days,
            limit=limit,
        )
    rows = [s.as_dict() for s in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        hint = f"; `safewindow when {treatment}` explains the patient's earliest safe date" if patient else ""
        console.print(f"No bookable {treatment} slots in those {days} days{hint}.")
        return
    table = Table("local time", "practitioner", "room", "fit")
    for row in rows:
        when = f"{row['start'][:10]} {row['start'][11:16]}-{row['end'][11:16]}"
        table.add_row(
            when, f"{row['practitioner']} {row['practitioner_name']}", str(row["room"] or "-"), str(row["fit"] or "-")
        )
    console.print(table)


def book_command(
    patient: Annotated[int, typer.Option("--patient", help="Patient id.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Treatment slug.")],
    clinic: Annotated[int, typer.Option("--clinic", help="Clinic id.")],
    at: Annotated[str, typer.Option("--at", help="Local time at the clinic, YYYY-MM-DDTHH:MM.")],
    practitioner: Annotated[int | None, typer.Option("--practitioner", help="Practitioner id.")] = None,
    override_reason: Annotated[
        str | None, typer.Option("--override-reason", help="Why a soft rule is overridden.")
    ] = None,
    by: Annotated[int | None, typer.Option("--by", help="The practitioner who overrides.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Book a visit, if the time is free and safe for the patient."""
    with bad_input_exits(), refusals_exit(as_json):
        start = parse_local_time(at, clinic_zone(_zone_of(clinic)))
        result = book(
            sessions(),
            default_knowledge_base(),
            patient_id=patient,
            treatment=treatment,
            clinic_id=clinic,
            start=start,
            practitioner_id=practitioner,
            actor=actor(),
            override=_override(override_reason, by),
        )
    row = booked_row(result)
    print_json(row) if as_json else _say(row, "booked")


def reschedule_command(
    visit: Annotated[int, typer.Argument(help="Visit id.")],
    at: Annotated[str, typer.Option("--at", help="New local time at the clinic, YYYY-MM-DDTHH:MM.")],
    override_reason: Annotated[str | None, typer.Option("--override-reason")] = None,
    by: Annotated[int | None, typer.Option("--by")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a booked visit; every other visit of the patient is checked again."""
    with bad_input_exits(), refusals_exit(as_json):
        with UnitOfWork(sessions()) as uow:
            found = uow.session.get(models.Visit, visit)
            zone = found.clinic.time_zone if found else "America/Vancouver"
        start = parse_local_time(at, clinic_zone(zone))
        result = reschedule(
            sessions(),
            default_knowledge_base(),
            visit_id=visit,
            start=start,
            actor=actor(),
            override=_override(override_reason, by),
        )
    row = booked_row(result)
    print_json(row) if as_json else _say(row, "moved")


def cancel_command(
    visit: Annotated[int, typer.Argument(help="Visit id.")],
    as_json: JsonFlag = False,
) -> None:
    """Cancel a booked visit."""
    with bad_input_exits(), refusals_exit(as_json):
        cancelled = cancel(sessions(), default_knowledge_base(), visit_id=visit, actor=actor())
    if as_json:
        print_json(cancelled_row(cancelled))
    else:
        console.print(f"cancelled visit {cancelled.id}")


def outcome_command(
    visit: Annotated[int, typer.Argument(help="Visit id.")],
    outcome: Annotated[Outcome, typer.Argument(help="completed: came and was treated; no-show: did not come.")],
    as_json: JsonFlag = False,
) -> None:
    """Record what happened at a visit that has begun; later visits it makes unsafe are listed, not refused."""
    with bad_input_exits(), refusals_exit(as_json):
        recorded = record_outcome(sessions(), default_knowledge_base(), visit_id=visit, outcome=outcome, actor=actor())
    if as_json:
        print_json(recorded.as_dict())
        return
    console.print(f"[green]{recorded.visit.status}[/] visit {recorded.visit.id} (was {recorded.was})")
    for problem in recorded.unsafe:
        console.print(f"  [yellow]now unsafe[/] {problem.code}: {problem.message}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(slots)
    app.command("book")(book_command)
    app.command("reschedule")(reschedule_command)
    app.command("cancel")(cancel_command)
    app.command("outcome")(outcome_command)
