"""`safewindow plans`, `plan`, `recalls`: treatment plans placed in free, safe slots, and who is due again.

Bad input exits with code 2 and one line; a plan that cannot be booked (no safe plan, or a visit refused since it
was proposed) exits with code 3 and books nothing. A proposal without `--book` writes nothing."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.booking_commands import refusals_exit
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.advice import parse_day
from safewindow.services.plan_records import template_rows
from safewindow.services.plans import book_plan, find_template, propose_plan
from safewindow.services.recalls import recalls_for


def plans_command(as_json: JsonFlag = False) -> None:
    """The plan templates: a patient's journey as steps, each placed by the planner."""
    if as_json:
        print_json(template_rows(default_plans()))
        return
    table = Table("slug", "name", "steps", "event")
    for template in default_plans().templates.values():
        steps = ", ".join(
            step.treatment + (f" x{step.count}" if step.count > 1 else "") + (" (optional)" if step.optional else "")
            for step in template.steps
        )
        table.add_row(template.slug, template.name, steps, "needs a date" if template.needs_event else "-")
    console.print(table)


def plan_command(
    template: Annotated[str, typer.Argument(help="Plan template slug, e.g. microneedling-series-then-botox.")],
    patient: Annotated[int, typer.Option("--patient", help="Patient id.")],
    clinic: Annotated[int, typer.Option("--clinic", help="Clinic id.")],
    start: Annotated[str | None, typer.Option("--start", help="First day, YYYY-MM-DD (default: today).")] = None,
    event: Annotated[str | None, typer.Option("--event", help="The event's date, YYYY-MM-DD.")] = None,
    book: Annotated[bool, typer.Option("--book", help="Book every visit, all or none.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The best safe plan for PATIENT at CLINIC (proven best, or why none exists); `--book` books it."""
    kb, plans = default_knowledge_base(), default_plans()
    with bad_input_exits(), refusals_exit(as_json):
        find_template(plans, template, field="TEMPLATE")
        first = parse_day(start, "start") if start else None
        day = parse_day(event, "event") if event else None
        proposal = propose_plan(
            sessions(), kb, plans, template=template, patient_id=patient, clinic_id=clinic, start=first, event=day
        )
        row = book_plan(sessions(), kb, proposal, actor=actor()).as_dict() if book else proposal.as_dict()
    if as_json:
        print_json(row)
    else:
        _say(row, booked=book)


def _say(row: dict[str, Any], booked: bool) -> None:
    colour = {"optimal": "green", "feasible": "yellow"}.get(row["status"], "red")
    verb = f"booked as plan {row['plan_id']}" if booked else row["status"]
    console.print(f"[bold]{row['template']}[/] for patient {row['patient']}: [{colour}]{verb}[/]")
    if row["visits"]:
        table = Table("local time", "treatment", "practitioner", "fit")
        for visit in row["visits"]:
            table.add_row(
                f"{visit['start'][:10]} {visit['start'][11:16]}",
                visit["treatment"],
                f"{visit['practitioner']} {visit['practitioner_name']}",
                visit["fit"],
            )
        console.print(table)
    console.print(row["explanation"], soft_wrap=True)


def recalls_command(
    clinic: Annotated[int, typer.Option("--clinic", help="Clinic id.")],
    on: Annotated[str | None, typer.Option("--on", help="As of this day, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Patients due, overdue or soon due a treatment again (Botox at 3-4 months), with the first safe slot."""
    kb = default_knowledge_base()
    with bad_input_exits():
        day = parse_day(on, "on") if on else None
        items = recalls_for(sessions(), kb, default_plans().recalls, clinic_id=clinic, on=day)
    rows = [item.as_dict() for item in items]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("Nobody is due a recall.")
        return
    table = Table("patient", "treatment", "due", "status", "first safe slot")
    for row in rows:
        slot = row["first_slot"]
        table.add_row(
            f"{row['patient']} {row['patient_name']}",
            row["treatment"],
            f"{row['due_start']} to {row['due_end']}",
            row["status"],
            f"{slot['start'][:16].replace('T', ' ')} ({slot['practitioner_name']})" if slot else "-",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("plans")(plans_command)
    app.command("plan")(plan_command)
    app.command("recalls")(recalls_command)
