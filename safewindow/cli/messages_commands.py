"""`safewindow messages PATIENT_ID`: how a patient hears from the clinic (services/contact_preferences.py), as the
front desk records what the patient told them.

Without options it shows the patient's choices: their mobile number, whether reminders and recalls come by e-mail
(visit notices and aftercare always do), and whether visit reminders come by text message too. With any option it
changes only those given and shows the result; `--phone ""` removes the number. Bad input (a number that is not a
mobile one, texts without a number) exits with code 2 and a line naming `--phone`, and nothing is written."""

from __future__ import annotations

from typing import Annotated

import typer

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.services.contact_preferences import ContactPreferences, contact_preferences, set_contact_preferences
from safewindow.store.unit_of_work import UnitOfWork

# The service's fields, as this command names them.
OPTIONS = {"patient": "PATIENT_ID"}


def _say(preferences: ContactPreferences) -> None:
    def yes(chosen: bool) -> str:
        return "[green]yes[/]" if chosen else "no"

    console.print(f"Patient {preferences.patient_id} hears from the clinic:", soft_wrap=True)
    console.print(f"  e-mail: {preferences.email or 'none'}", soft_wrap=True, markup=False)
    console.print(f"  mobile: {preferences.phone_for_people or 'none'}", soft_wrap=True, markup=False)
    console.print(f"  reminders and recalls by e-mail: {yes(preferences.email_reminders)}")
    console.print(f"  visit reminders by text message: {yes(preferences.text_reminders)}")


def messages_command(
    patient: Annotated[int, typer.Argument(metavar="PATIENT_ID", help="Patient id.")],
    phone: Annotated[
        str | None,
        typer.Option(
            "--phone", help='Mobile number, e.g. "604 555 0142" (another country\'s with its +code); "": none.'
        ),
    ] = None,
    email_reminders: Annotated[
        bool | None,
        typer.Option(
            "--email-reminders/--no-email-reminders",
            help="Reminders and recalls by e-mail (visit notices and aftercare come regardless).",
            show_default=False,
        ),
    ] = None,
    texts: Annotated[
        bool | None,
        typer.Option("--texts/--no-texts", help="Visit reminders by text message too.", show_default=False),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """How a patient hears from the clinic; with options, change only those given and show the result."""
    changing = phone is not None or email_reminders is not None or texts is not None
    with bad_input_exits(OPTIONS):
        if changing:  # an option not given stays as it is
            preferences = set_contact_preferences(
                sessions(),
                patient_id=patient,
                actor=actor(),
                phone=phone,
                email_reminders=email_reminders,
                text_reminders=texts,
            )
        else:
            with UnitOfWork(sessions()) as uow:
                preferences = contact_preferences(uow.session, patient)
    if as_json:
        print_json(preferences.as_dict())
        return
    if changing:
        console.print("[green]saved[/]")
    _say(preferences)


def register(app: typer.Typer) -> None:
    app.command("messages")(messages_command)
