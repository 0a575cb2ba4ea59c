"""`safewindow record`, `records`, `lot`, `injection-sites`: what was given at a completed visit, a product recall's
question, which visits had this lot, and the sites an injection map may mark.

A record names the product, its lot number (as printed) and expiry, the dose, the areas, a note, and needs
`--consent`: the practitioner's confirmation that the patient gave informed consent before the treatment. An
injected treatment's record may carry its injection map, `--point SITE=AMOUNT` for each site. A record is never
changed: recording again corrects it, and the newest is the visit's record. A visit not recorded as
completed is refused with exit code 3 and nothing is written; bad input exits with code 2 and a line naming the
option for each field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.booking_commands import refusals_exit
from safewindow.cli.output import bad_input_exits, console, fail, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.domain.advice import UnknownName
from safewindow.domain.injection_map import amount_text
from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.advice import parse_day
from safewindow.services.catalogue import injection_sites
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import FieldProblems
from safewindow.services.treatment_records import Record, record_treatment, records_of_visit, visits_with_lot
from safewindow.store.unit_of_work import UnitOfWork

# The services' fields, as these commands name them (a point of the map, `injection_points.SITE`: see _named).
OPTIONS = {"visit": "VISIT_ID", "lot_number": "--lot", "expires_on": "--expires", "injection_points": "--point"}


def record_command(
    visit: Annotated[int, typer.Argument(help="Visit id (recorded as completed).")],
    product: Annotated[str, typer.Option("--product", help="The product given, as on its package.")],
    lot: Annotated[str, typer.Option("--lot", help="Its lot number, as printed.")],
    expires: Annotated[str | None, typer.Option("--expires", help="Its expiry, YYYY-MM-DD.")] = None,
    dose: Annotated[str, typer.Option("--dose", help="The dose, e.g. '20 units'.")] = "",
    areas: Annotated[str, typer.Option("--areas", help="The areas treated.")] = "",
    note: Annotated[str, typer.Option("--note", help="A note for the chart.")] = "",
    consent: Annotated[
        bool, typer.Option("--consent", help="The patient gave informed consent before the treatment (required).")
    ] = False,
    point: Annotated[
        list[str] | None,
        typer.Option(
            "--point",
            help="SITE=AMOUNT injected at a site of the map, in the treatment's unit (units or mL), e.g. "
            "glabella=20; repeat. The sites: `safewindow injection-sites`.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record what was given at a completed visit; recording again corrects it (the newest is the visit's)."""
    points = [_point(text) for text in point or ()]
    with bad_input_exits(OPTIONS), refusals_exit(as_json), _named():
        expires_on = parse_day(expires, "expires") if expires is not None else None
        recorded = record_treatment(
            sessions(),
            visit_id=visit,
            product=product,
            lot=lot,
            expires_on=expires_on,
            dose=dose,
            areas=areas,
            note=note,
            consent=consent,
            actor=actor(),
            points=points,
        )
    if as_json:
        print_json(recorded.as_dict())
        return
    console.print(
        f"[green]record {recorded.id}[/] of visit {recorded.visit_id}: {recorded.product}, lot {recorded.lot_number}",
        soft_wrap=True,
    )
    if recorded.points:
        console.print(f"  injected: {_map(recorded)}", soft_wrap=True)
    if recorded.expired_when_given:
        console.print(
            f"  [yellow]warning[/] the lot expired on {recorded.expires_on}, before the visit", soft_wrap=True
        )


def _point(text: str) -> tuple[str, str]:
    """SITE=AMOUNT as typed; the amount is the service's to read, so that it names the site."""
    site, equals, amount = text.partition("=")
    if not equals or not site.strip() or not amount.strip():
        fail(f"--point: give SITE=AMOUNT, such as glabella=20, not {text!r}")
    return site.strip(), amount.strip()


@contextmanager
def _named() -> Iterator[None]:
    """A point's problem named as the option and its site: `--point glabella`."""
    try:
        yield
    except FieldProblems as error:
        prefix = "injection_points."
        raise FieldProblems(
            [(f"--point {f.removeprefix(prefix)}" if f.startswith(prefix) else f, p) for f, p in error.problems]
        ) from None


def _map(record: Record) -> str:
    """'forehead 10, glabella 20 (30 units)'."""
    return f"{', '.join(f'{p.site} {amount_text(p.amount)}' for p in record.points)} ({record.injected})"


def records_command(
    visit: Annotated[int, typer.Argument(help="Visit id.")],
    as_json: JsonFlag = False,
) -> None:
    """What was given at a visit, newest (the visit's record) first; earlier ones are amended."""
    with bad_input_exits(OPTIONS), UnitOfWork(sessions()) as uow:
        found = records_of_visit(uow.session, visit)
    if as_json:
        print_json([record.as_dict() for record in found])
        return
    if not found:
        console.print(f"Nothing recorded for visit {visit}.")
        return
    table = Table("id", "product", "lot", "expires", "dose", "areas", "injected", "note", "recorded by", "status")
    for number, record in enumerate(found):
        expires = record.expires_on.isoformat() if record.expires_on else "-"
        if record.expired_when_given:
            expires += " (expired when given)"
        table.add_row(
            str(record.id),
            record.product,
            record.lot_number,
            expires,
            record.dose or "-",
            record.areas or "-",
            _map(record) if record.points else "-",
            record.note or "-",
            record.recorded_by,
            "current" if number == 0 else "amended",
        )
    console.print(table)


def lot_command(
    lot: Annotated[str, typer.Argument(help="The lot number, as printed.")],
    clinic: Annotated[int | None, typer.Option("--clinic", help="Only this clinic's visits.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every visit whose current record names the lot, earliest first: whom to contact in a recall."""
    with bad_input_exits({**OPTIONS, "lot_number": "LOT"}), UnitOfWork(sessions()) as uow:
        if clinic is not None:
            get_clinic(uow.session, clinic)
        found = visits_with_lot(uow.session, lot, clinic_id=clinic)
    if as_json:
        print_json([visit.as_dict() for visit in found])
        return
    if not found:
        console.print(f"No visit's record names lot {lot.strip().upper()}.")
        return
    table = Table("visit", "day", "patient", "clinic", "treatment", "product", "record")
    for visit in found:
        table.add_row(
            str(visit.visit_id),
            visit.day.isoformat(),
            f"{visit.patient_id} {visit.patient}",
            visit.clinic,
            visit.treatment,
            visit.product,
            str(visit.record_id),
        )
    console.print(table)


def injection_sites_command(
    treatment: Annotated[str | None, typer.Option("--treatment", help="Only this treatment's, e.g. botox.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The sites an injection map may mark (`record --point`), and how each injected category is counted."""
    kb, maps = default_knowledge_base(), default_injection_maps()
    if treatment is not None and treatment not in kb.treatments:
        fail(f"--treatment: {UnknownName('treatment', treatment, kb.treatments)}")
    found = injection_sites(maps, treatment)
    if as_json:
        print_json(found)
        return
    if treatment is not None and not found["sites"]:
        console.print(f"{kb.treatments[treatment].name} is not injected, so it has no injection map.")
        return
    for measure in found["measures"]:
        console.print(
            f"{measure['category']} ({', '.join(measure['treatments'])}): in {measure['unit']}, at most "
            f"{amount_text(maps.measures[measure['category']].most_per_site)} at one site",
            soft_wrap=True,
        )
    table = Table("site", "name", "x", "y", "categories")
    for site in found["sites"]:
        table.add_row(site["id"], site["name"], str(site["x"]), str(site["y"]), ", ".join(site["categories"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("record")(record_command)
    app.command("records")(records_command)
    app.command("lot")(lot_command)
    app.command("injection-sites")(injection_sites_command)
