"""`safewindow deposit`, `deposits`, `late-and-missed`: the deposits a clinic asks to hold visits, as its front desk
keeps them. safewindow takes no payments: staff record here what happened at the card terminal, till or bank.

`deposit VISIT_ID` shows a visit's deposit; with `--step` it records one: taken (with `--method`, and the
receipt's `--reference`), applied once the visit is completed, refunded (with `--method`), kept when the visit was
cancelled within the clinic's notice for changes or missed, or waived before it was taken (with a `--reason`). A
step the policy does not allow now is refused with exit code 3 and why, and nothing is written; bad input exits
with code 2 and a line naming the option for each field at fault. `deposits` lists the clinic's deposits with
something left to do; `late-and-missed` its late cancellations and no-shows, by default the 30 days up to today."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.booking_commands import refusals_exit
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.deposits import METHODS, Step, dollars
from safewindow.services.clinic_view import get_clinic
from safewindow.services.deposits import Deposit, deposit_of_visit, late_and_missed, record_step, to_act_on
from safewindow.services.errors import InputError
from safewindow.services.report_days import report_days
from safewindow.store.unit_of_work import UnitOfWork

# The services' fields, as these commands name them.
OPTIONS = {"visit": "VISIT_ID"}
ClinicOption = Annotated[int, typer.Option("--clinic", help="Clinic id.")]


def _say(deposit: Deposit) -> None:
    console.print(
        f"Visit {deposit.visit_id}'s deposit of {dollars(deposit.amount_cents)}: [bold]{deposit.state}[/]"
        + (f"; next: {deposit.todo}" if deposit.todo else ""),
        soft_wrap=True,
    )
    for entry in deposit.entries:
        how = " ".join(part for part in (entry.method or "", entry.reference, entry.reason) if part)
        console.print(f"  {entry.recorded_at:%Y-%m-%d %H:%M} UTC {entry.step} {how}".rstrip(), soft_wrap=True)


def deposit_command(
    visit: Annotated[int, typer.Argument(help="Visit id.")],
    step: Annotated[Step | None, typer.Option("--step", help="What happened to the deposit (none: show it).")] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", help=f"How the money changed hands ({', '.join(METHODS)}): taken and refunded."),
    ] = None,
    reference: Annotated[str, typer.Option("--reference", help="The receipt's or transfer's number.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (needed to waive a deposit).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """A visit's deposit: where it stands and every step; with --step, record one as it happened at the
    terminal, and print the deposit after it."""
    with bad_input_exits(OPTIONS), refusals_exit(as_json):
        if step is None:
            if method is not None or reference or reason:
                raise InputError("step", "--method, --reference and --reason describe a step: name it")
            with UnitOfWork(sessions()) as uow:
                deposit = deposit_of_visit(uow.session, visit)
        else:
            deposit = record_step(
                sessions(), visit_id=visit, step=step, actor=actor(), method=method, reference=reference, reason=reason
            )
    if as_json:
        print_json(deposit.as_dict())
        return
    if step is not None:
        console.print(f"[green]recorded[/] {step}")
    _say(deposit)


def deposits_command(clinic: ClinicOption, as_json: JsonFlag = False) -> None:
    """The clinic's deposits with something left to do, earliest visit first: take, apply, refund or keep."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        found = to_act_on(uow.session, clinic)
    if as_json:
        print_json([line.as_dict() for line in found])
        return
    if not found:
        console.print(f"No deposit at clinic {clinic} waits for anything.")
        return
    table = Table("visit", "start", "patient", "treatment", "visit status", "deposit", "state", "to do")
    for line in found:
        table.add_row(
            str(line.deposit.visit_id),
            f"{line.start:%Y-%m-%d %H:%M}",  # on the clinic's clock
            f"{line.patient_id} {line.patient}",
            line.treatment,
            line.status,
            dollars(line.deposit.amount_cents),
            str(line.deposit.state),
            str(line.deposit.todo),
        )
    console.print(table)


def late_and_missed_command(
    clinic: ClinicOption,
    first: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: the 30 days up to --to).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The clinic's visits cancelled within its notice for changes, or not attended, earliest first."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        zone = clinic_zone(get_clinic(uow.session, clinic).time_zone)
        begins, ends = report_days(first, last, clinic_today(zone))
        found = late_and_missed(uow.session, clinic, begins, ends)
    if as_json:
        print_json([visit.as_dict() for visit in found])
        return
    if not found:
        console.print(f"No late cancellation or no-show at clinic {clinic} from {begins} to {ends}.")
        return
    table = Table("visit", "day", "patient", "treatment", "what", "deposit")
    for visit in found:
        table.add_row(
            str(visit.visit_id),
            visit.day.isoformat(),
            f"{visit.patient_id} {visit.patient}",
            visit.treatment,
            "cancelled late" if visit.status == "cancelled" else visit.status,
            dollars(visit.deposit_cents) if visit.deposit_cents else "-",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("deposit")(deposit_command)
    app.command("deposits")(deposits_command)
    app.command("late-and-missed")(late_and_missed_command)
