"""`safewindow db`, `demo load`, `clinics`, `practitioners`, `patients`, `visits`: the clinic's records."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import engine, sessions
from safewindow.clock import clinic_today, clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.services.patients import add_patient, find_patients
from safewindow.services.records import clinic_rows, patient_row, practitioner_rows, visit_rows
from safewindow.store.database import database_url
from safewindow.store.demo import load_demo
from safewindow.store.migrate import current_revision, downgrade, upgrade
from safewindow.store.unit_of_work import UnitOfWork

db_app = typer.Typer(help="The database: create or update its schema.")
patients_app = typer.Typer(help="Patients: list them, or add one.")


def actor() -> str:
    """Who is at the command line: recorded on every change and in the audit log."""
    return f"cli:{getpass.getuser()}"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or update the schema to the latest revision."""
    upgrade(database_url())
    console.print(f"database at revision {current_revision(engine())}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, or 'base'.")] = "base") -> None:
    """Undo migrations down to REVISION."""
    downgrade(database_url(), revision)
    console.print(f"database at revision {current_revision(engine()) or 'base'}")


def demo_load() -> None:
    """Load the fictional Abbotsford clinics, staff, patients and demo sign-ins (idempotent)."""
    with UnitOfWork(sessions(), write=True) as uow:
        result = load_demo(uow.session)
        logins = ensure_demo_accounts(uow.session)
        uow.commit()
    added = {table: n for table, n in result.created.items() if n}
    console.print(f"demo data: {'added ' + str(added) if added else 'already loaded, nothing changed'}")
    console.print(f"demo sign-ins (password {DEMO_PASSWORD!r}): " + ", ".join(f"{e} ({r})" for e, r in logins))


def clinics(as_json: JsonFlag = False) -> None:
    """The clinics."""
    with UnitOfWork(sessions()) as uow:
        rows = clinic_rows(uow.session)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "address")
    for row in rows:
        table.add_row(str(row["id"]), row["name"], row["address"])
    console.print(table)


def practitioners(
    clinic: Annotated[int, typer.Option("--clinic", help="Clinic id.")],
    as_json: JsonFlag = False,
) -> None:
    """The practitioners who work at a clinic, with their qualifications and what those allow."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        rows = practitioner_rows(uow.session, clinic)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "qualifications")
    for row in rows:
        table.add_row(str(row["id"]), row["name"], ", ".join(row["qualifications"]))
    console.print(table)


@patients_app.callback(invoke_without_command=True)
def patients(
    ctx: typer.Context,
    search: Annotated[str, typer.Option("--search", help="Part of a name or e-mail, or a patient number.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """The patients, by name."""
    if ctx.invoked_subcommand is not None:
        return
    with UnitOfWork(sessions()) as uow:
        rows = [patient_row(p) for p in find_patients(uow.session, search, limit=None)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "birth date")
    for row in rows:
        table.add_row(str(row["id"]), row["name"], row["birth_date"])
    console.print(table)


@patients_app.command("add")
def patients_add(
    name: Annotated[str, typer.Option("--name", help="The patient's name.")],
    birth_date: Annotated[str, typer.Option("--birth-date", help="YYYY-MM-DD.")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="A mobile number, for text reminders if they ask (messages --texts).")
    ] = None,
    factor: Annotated[list[str] | None, typer.Option("--factor", help="A personal factor id; repeat.")] = None,
    history: Annotated[
        list[str] | None, typer.Option("--history", help="A treatment had elsewhere, SLUG@YYYY-MM-DD; repeat.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a patient, with their personal factors and treatments they had elsewhere."""
    with bad_input_exits():
        patient = add_patient(
            sessions(),
            default_knowledge_base(),
            name=name,
            birth_date=birth_date,
            email=email,
            phone=phone,
            factors=factor or [],
            history=history or [],
            actor=actor(),
            today=clinic_today(clinic_zone()),
        )
    row = patient_row(patient)
    if as_json:
        print_json(row)
    else:
        console.print(f"patient {row['id']} added: {row['name']}")


def visits(
    patient: Annotated[int, typer.Option("--patient", help="Patient id.")],
    as_json: JsonFlag = False,
) -> None:
    """A patient's visits, done, booked and cancelled, in the clinic's local time."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        rows = visit_rows(uow.session, patient)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "treatment", "start", "status", "practitioner", "room")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["treatment"],
            row["start"],
            row["status"],
            str(row["practitioner"]),
            str(row["room"] or "-"),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(patients_app, name="patients")
    app.command()(clinics)
    app.command()(practitioners)
    app.command()(visits)
