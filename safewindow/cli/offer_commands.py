"""`safewindow offers`, `offer`, `booking-policy`: what a clinic offers and how it takes bookings, as its web page
and the API set them.

`offer` replaces the whole offer (an option left out takes its default), as the API's PUT does, so the command
line says everything the clinic will book by, the deposit asked to hold each visit (`--deposit`, in dollars)
included. A refused change exits with code 2 and one `error:` line for each option at fault, so an administrator
fixes them all in one go; nothing is written."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.domain.deposits import LARGEST_CENTS, cents_of, dollars
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.errors import FieldProblems
from safewindow.services.offers import Offer, Policy, booking_policy, offers, set_booking_policy, set_offer
from safewindow.store.unit_of_work import UnitOfWork

# The service's names for an offer and a policy, as these commands' options.
OPTIONS = {
    "treatment": "SLUG",
    "duration_minutes": "--duration",
    "buffer_before_minutes": "--before",
    "buffer_after_minutes": "--after",
    "permission": "--permission",
    "room_kind": "--room",
    "device_kind": "--device",
    "deposit_cents": "--deposit",
    "min_notice_minutes": "--notice-minutes",
    "horizon_days": "--horizon-days",
    "slot_step_minutes": "--step-minutes",
    "change_notice_minutes": "--change-notice-minutes",
}

# Dollars, as the clinic writes them: 50, 50.00 or $50.50 (digits enough for any amount the service may refuse).
NOT_AN_AMOUNT = "give the deposit in dollars, e.g. 50 or 50.00 (0: none)"
ALL_OF_THEM = "--notice-minutes, --horizon-days, --step-minutes and --change-notice-minutes"
ClinicOption = Annotated[int, typer.Option("--clinic", help="Clinic id.")]


def list_offers(clinic: ClinicOption, as_json: JsonFlag = False) -> None:
    """Every treatment the clinic offers or has offered: its length, buffers and who and what it needs."""
    kb = default_knowledge_base()
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        rows = offers(uow.session, clinic, kb)
    if as_json:
        print_json([offer.as_dict() for offer in rows])
        return
    table = Table(
        "treatment", "name", "minutes", "before", "after", "permission", "room", "device", "deposit", "offered"
    )
    for offer in rows:
        table.add_row(
            offer.treatment,
            offer.name,
            str(offer.duration_minutes),
            str(offer.buffer_before_minutes),
            str(offer.buffer_after_minutes),
            offer.permission or "-",
            offer.room_kind or "-",
            offer.device_kind or "-",
            dollars(offer.deposit_cents) if offer.deposit_cents else "-",
            "yes" if offer.active else "no",
        )
    console.print(table)


def offer_command(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The treatment, as `safewindow treatments` names it.")],
    clinic: ClinicOption,
    duration: Annotated[int, typer.Option("--duration", metavar="MINUTES", help="How long the visit takes.")],
    before: Annotated[int, typer.Option("--before", metavar="MINUTES", help="Set-up time before it.")] = 0,
    after: Annotated[int, typer.Option("--after", metavar="MINUTES", help="Clean-up time after it.")] = 0,
    permission: Annotated[
        str | None, typer.Option("--permission", help="Who may do it: a permission id (default: anyone).")
    ] = None,
    room: Annotated[str | None, typer.Option("--room", metavar="KIND", help="A room of this kind is booked.")] = None,
    device: Annotated[
        str | None, typer.Option("--device", metavar="KIND", help="A shared device of this kind is booked.")
    ] = None,
    not_offered: Annotated[bool, typer.Option("--not-offered", help="Keep it, but take no new bookings.")] = False,
    deposit: Annotated[
        str, typer.Option("--deposit", metavar="DOLLARS", help="Asked to hold each visit, e.g. 50 or 50.00 (none: 0).")
    ] = "0",
    as_json: JsonFlag = False,
) -> None:
    """Offer a treatment at the clinic, or replace how it is offered; from the next booking on."""
    kb = default_knowledge_base()
    cents = cents_of(deposit)
    # An amount that is not one is checked with every other option: -1 cents, which the service refuses by name,
    # stands in for it, so nothing is written and every option at fault is named at once.
    offer = Offer(
        slug, "", duration, before, after, permission, room, device, not not_offered, -1 if cents is None else cents
    )
    with bad_input_exits(OPTIONS):
        try:
            saved = set_offer(sessions(), kb, clinic_id=clinic, offer=offer, actor=actor())
        except FieldProblems as refused:
            # The service names the amount in cents; this option takes dollars.
            said = f"must be 0 (none) to {dollars(LARGEST_CENTS)}" if cents is not None else NOT_AN_AMOUNT
            raise FieldProblems(
                [(field, said if field == "deposit_cents" else problem) for field, problem in refused.problems]
            ) from None
    if as_json:
        print_json(saved.as_dict())
    else:
        state = "offered" if saved.active else "not offered"
        asked = f", deposit {dollars(saved.deposit_cents)}" if saved.deposit_cents else ""
        console.print(f"[green]saved[/] {saved.name}: {saved.duration_minutes} minutes, {state}{asked}")


def policy_command(
    clinic: ClinicOption,
    notice: Annotated[
        int | None, typer.Option("--notice-minutes", metavar="N", help="Book at least this long ahead.")
    ] = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon-days", metavar="N", help="Book at most this far ahead.")
    ] = None,
    step: Annotated[int | None, typer.Option("--step-minutes", metavar="N", help="Slots start on this grid.")] = None,
    change_notice: Annotated[
        int | None,
        typer.Option(
            "--change-notice-minutes", metavar="N", help="Patients may cancel or move online until this long before."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The clinic's booking policy; with all four options, replace it."""
    given = {
        "min_notice_minutes": notice,
        "horizon_days": horizon,
        "slot_step_minutes": step,
        "change_notice_minutes": change_notice,
    }
    with bad_input_exits(OPTIONS):
        if all(n is None for n in given.values()):
            with UnitOfWork(sessions()) as uow:
                policy = booking_policy(uow.session, clinic)
        elif notice is None or horizon is None or step is None or change_notice is None:
            # A policy is replaced whole, as the page and the API do: no option quietly keeps an old value.
            raise FieldProblems(
                [
                    (field, f"missing: {ALL_OF_THEM} replace the policy together")
                    for field, n in given.items()
                    if n is None
                ]
            )
        else:
            policy = set_booking_policy(
                sessions(), clinic_id=clinic, policy=Policy(notice, horizon, step, change_notice), actor=actor()
            )
    if as_json:
        print_json(policy.as_dict())
    else:
        console.print(
            f"At least {policy.min_notice_minutes} minutes' notice, up to {policy.horizon_days} days ahead, "
            f"slots every {policy.slot_step_minutes} minutes; patients may cancel or move a visit online until "
            f"{policy.change_notice_minutes} minutes before it."
        )


def register(app: typer.Typer) -> None:
    app.command("offers")(list_offers)
    app.command("offer")(offer_command)
    app.command("booking-policy")(policy_command)
