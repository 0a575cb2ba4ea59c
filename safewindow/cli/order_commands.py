"""`safewindow orders`, `order`, `revoke-order`: authorized prescribers' client-specific orders (in BC a registered
nurse injects Botox only on such an order for the patient).

Only a practitioner who gives the treatment in their own right may write or revoke an order (`--by`); anyone else
is refused with exit code 3 and the reasons, and nothing is written. Bad input exits with code 2 and one line
naming the option. Revoking is never refused for its consequences: booked visits no order covers any more are
printed as warnings, still booked, for staff to reassign or cancel."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.booking_commands import refusals_exit
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.clock import DEFAULT_ZONE, clinic_today, clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.advice import parse_day
from safewindow.services.orders import Order, orders_of, revoke_order, write_order
from safewindow.store.unit_of_work import UnitOfWork

# The services' fields, as these commands name them.
OPTIONS = {"valid_until": "--until", "prescriber": "--by", "order": "ORDER_ID"}


def _status(order: Order) -> str:
    if order.revoked_at is not None:
        return f"revoked {order.revoked_at.astimezone(clinic_zone(DEFAULT_ZONE)):%Y-%m-%d}"
    return "in force" if order.in_force(clinic_today(clinic_zone(DEFAULT_ZONE))) else "expired"


def orders_command(
    patient: Annotated[int, typer.Option("--patient", help="Patient id.")],
    as_json: JsonFlag = False,
) -> None:
    """A patient's prescribers' orders, revoked ones too, newest first."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        found = orders_of(uow.session, patient)
    if as_json:
        print_json([order.as_dict() for order in found])
        return
    if not found:
        console.print(f"No prescriber's orders for patient {patient}.")
        return
    table = Table("id", "treatment", "prescriber", "valid until", "status", "note")
    for order in found:
        table.add_row(
            str(order.id),
            order.treatment,
            f"{order.prescriber_id} {order.prescriber}",
            order.valid_until.isoformat(),
            _status(order),
            order.note or "-",
        )
    console.print(table)


def order_command(
    patient: Annotated[int, typer.Option("--patient", help="Patient id.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Treatment slug, e.g. botox.")],
    by: Annotated[int, typer.Option("--by", help="The prescriber's practitioner id.")],
    until: Annotated[str, typer.Option("--until", help="The last day it covers, YYYY-MM-DD.")],
    note: Annotated[str, typer.Option("--note", help="What is ordered: product, dose, areas.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Write a prescriber's client-specific order: the patient may have the treatment, up to --until, from a
    practitioner who gives it only on such an order."""
    with bad_input_exits(OPTIONS), refusals_exit(as_json):
        valid_until = parse_day(until, "until")
        order = write_order(
            sessions(),
            default_knowledge_base(),
            patient_id=patient,
            treatment=treatment.strip(),
            prescriber_id=by,
            valid_until=valid_until,
            note=note,
            actor=actor(),
        )
    if as_json:
        print_json(order.as_dict())
        return
    console.print(
        f"[green]order {order.id}[/]: {order.treatment} for patient {order.patient_id} until {order.valid_until}, "
        f"by {order.prescriber}",
        soft_wrap=True,
    )


def revoke_order_command(
    order: Annotated[int, typer.Argument(help="Order id.")],
    by: Annotated[int, typer.Option("--by", help="The prescriber's practitioner id.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke an order; booked visits no order covers any more are listed, still booked."""
    with bad_input_exits(OPTIONS), refusals_exit(as_json):
        revoked = revoke_order(sessions(), order_id=order, prescriber_id=by, actor=actor())
    if as_json:
        print_json(revoked.as_dict())
        return
    found = revoked.order
    console.print(
        f"[green]{_status(found)}[/] order {found.id}: {found.treatment} for patient {found.patient_id} "
        f"(by {found.revoked_by}{', before: nothing changed' if revoked.already else ''})",
        soft_wrap=True,
    )
    for problem in revoked.uncovered:
        console.print(f"  [yellow]warning[/] {problem.code}: {problem.message}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("orders")(orders_command)
    app.command("order")(order_command)
    app.command("revoke-order")(revoke_order_command)
