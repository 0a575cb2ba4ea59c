"""`safewindow time-off list`, `add`, `remove`: a practitioner's time off, which holds at every clinic where they
work.

Times show in the zone of a clinic where they work, with its UTC offset. A refused change (a booked visit in the
time off) exits with code 3 and every reason; bad input (time off there already included, as the API and the page
have it) exits with code 2. Either way nothing is written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.booking_commands import refusals_exit
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.clock import now_utc
from safewindow.services.advice import parse_day
from safewindow.services.errors import InputError, NotFound
from safewindow.services.time_off import (
    add_local_time_off,
    clinic_of,
    remove_time_off,
    time_off_row,
    upcoming_time_off,
)
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

time_off_app = typer.Typer(help="A practitioner's time off: list it, add some, remove some.", no_args_is_help=True)

CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
# The service's names for the span, as this command's options.
OPTIONS = {"first_day": "from", "last_day": "to", "start_time": "start", "end_time": "end"}

PractitionerOption = Annotated[int, typer.Option("--practitioner", help="Practitioner id.")]


def _clock(text: str | None, option: str) -> time | None:
    if text is None:
        return None
    if not CLOCK.fullmatch(text.strip()):
        raise InputError(option, f"{text[:10]!r} is not a time like 09:00")
    return time.fromisoformat(text.strip())


def _first_clinic(session: Session, practitioner_id: int) -> models.Clinic:
    """The first clinic, by id, where they work: their time off is the same at each, and a command needs one
    clinic for its local times and its audit entry."""
    practitioner = session.get(models.Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound("practitioner", f"no practitioner {practitioner_id}")
    clinic_ids = sorted({hours.clinic_id for hours in practitioner.hours})
    if not clinic_ids:
        raise NotFound("practitioner", f"{practitioner.name} works at no clinic")
    return clinic_of(session, clinic_ids[0], practitioner_id)


@contextmanager
def _as_options(to_given: bool) -> Iterator[None]:
    """The service's problems in this command's words: its fields as options."""
    try:
        yield
    except InputError as error:
        option = OPTIONS.get(error.field, error.field)
        if option == "to" and not to_given:  # the last day is the first one: point at what they typed
            option = "from"
        raise InputError(option, error.problem) from None


@time_off_app.command("list")
def list_time_off(practitioner: PractitionerOption, as_json: JsonFlag = False) -> None:
    """Their time off that has not ended yet, earliest first."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        zone_name = _first_clinic(uow.session, practitioner).time_zone
        rows = [time_off_row(e, zone_name) for e in upcoming_time_off(uow.session, practitioner, now=now_utc())]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"No upcoming time off for practitioner {practitioner}.")
        return
    table = Table("id", "start", "end", "reason")
    for row in rows:
        table.add_row(str(row["id"]), row["start"], row["end"], row["reason"] or "-")
    console.print(table)


@time_off_app.command("add")
def add(
    practitioner: PractitionerOption,
    clinic: Annotated[int, typer.Option("--clinic", help="A clinic where they work: its days and times.")],
    first: Annotated[str, typer.Option("--from", help="First day off, YYYY-MM-DD.")],
    last: Annotated[str | None, typer.Option("--to", help="Last day off, YYYY-MM-DD (default: --from).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Off from HH:MM on the first day.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Back at HH:MM on the last day.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="For the staff only; kept out of the audit log.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Give a practitioner time off, from the clinic's local days; whole days unless --start or --end is given."""
    with bad_input_exits(), refusals_exit(as_json), _as_options(last is not None):
        first_day = parse_day(first, "from")
        last_day = parse_day(last, "to") if last is not None else first_day
        start_time, end_time = _clock(start, "start"), _clock(end, "end")
        store = sessions()
        with UnitOfWork(store) as uow:
            zone_name = clinic_of(uow.session, clinic, practitioner).time_zone
        entry = add_local_time_off(
            store,
            clinic_id=clinic,
            practitioner_id=practitioner,
            first_day=first_day,
            last_day=last_day,
            start_time=start_time,
            end_time=end_time,
            reason=reason,
            actor=actor(),
        )
    row = time_off_row(entry, zone_name)
    if as_json:
        print_json(row)
    else:
        console.print(f"[green]added[/] time off {row['id']}: {row['start']} to {row['end']}")


@time_off_app.command("remove")
def remove(
    time_off: Annotated[int, typer.Argument(metavar="TIME_OFF_ID", help="Time off id, as `time-off list` shows.")],
    practitioner: PractitionerOption,
) -> None:
    """Remove some of their time off."""
    with bad_input_exits():
        store = sessions()
        with UnitOfWork(store) as uow:
            clinic_id = _first_clinic(uow.session, practitioner).id
        try:
            remove_time_off(
                store, clinic_id=clinic_id, practitioner_id=practitioner, time_off_id=time_off, actor=actor()
            )
        except NotFound as missing:
            raise InputError("TIME_OFF_ID" if missing.field == "time_off" else missing.field, missing.problem) from None
    console.print(f"removed time off {time_off}")


def register(app: typer.Typer) -> None:
    app.add_typer(time_off_app, name="time-off")
