"""`safewindow consent-forms`, `consent-form`, `consents`, `consent`, `withdraw-consent`: a clinic's written consent
forms and the patients' signatures on them (services/consents.py), as staff keep them at the desk.

A clinic writes its own form for each treatment it offers; each change is a new version and the latest is in use.
`consent-form` shows the form in use, or the knowledge base's starter as a draft not in use; with `--title` and
`--body-file` it puts a new version in use (the same words again write nothing). `consent` records a paper form
the patient signed, for the version in use (`--version` is the one they read: a newer one is refused with exit
code 3, `consent-form-changed`). `consents` lists a patient's signatures and whether each upcoming visit is
covered. Bad input exits with code 2 and a line naming the option; nothing is written.

A form on file is the written record of informed consent, never a substitute for it: a practitioner still
confirms informed consent with the patient at the visit."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.booking_commands import refusals_exit
from safewindow.cli.output import bad_input_exits, console, print_json
from safewindow.cli.store_access import sessions
from safewindow.cli.store_commands import actor
from safewindow.clock import DEFAULT_ZONE, clinic_zone
from safewindow.domain.consent import VALID_FOR, Coverage, Form, Signature, Standing
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.advice import parse_day
from safewindow.services.clinic_view import get_clinic
from safewindow.services.consents import (
    coverage_dict,
    draft,
    form_dict,
    forms_of_clinic,
    forms_of_clinics,
    sign,
    signature_dict,
    signatures_of,
    upcoming_coverage,
    withdraw,
    write_form,
)
from safewindow.services.errors import InputError, NotFound
from safewindow.services.offers import offers
from safewindow.services.records import visit_row
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

# The services' fields, as these commands name them.
OPTIONS = {
    "patient": "PATIENT_ID",
    "consent": "CONSENT_ID",
    "signed_name": "--name",
    "body": "--body-file",
    "signed_on": "--signed-on",
}
AT_THE_VISIT = "A practitioner still confirms informed consent with the patient at the visit."
ClinicOption = Annotated[int, typer.Option("--clinic", help="Clinic id.")]
TreatmentOption = Annotated[str, typer.Option("--treatment", help="Treatment slug, e.g. botox.")]
PatientArgument = Annotated[int, typer.Argument(metavar="PATIENT_ID", help="Patient id.")]


def _names() -> dict[str, str]:
    return {slug: treatment.name for slug, treatment in default_knowledge_base().treatments.items()}


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M}"


def consent_forms_command(clinic: ClinicOption, as_json: JsonFlag = False) -> None:
    """Each treatment the clinic offers (or has offered), with its consent form in use or none. A form on file
    records consent; a practitioner still confirms informed consent at the visit."""
    with bad_input_exits(), UnitOfWork(sessions()) as uow:
        zone = clinic_zone(get_clinic(uow.session, clinic).time_zone)
        offered = offers(uow.session, clinic, default_knowledge_base())
        in_use = forms_of_clinic(uow.session, clinic)
    rows = [(offer, in_use.get(offer.treatment)) for offer in offered]
    if as_json:
        print_json(
            [
                {
                    "treatment": offer.treatment,
                    "treatment_name": offer.name,
                    "offered": offer.active,
                    "form": form_dict(form) if form else None,
                }
                for offer, form in rows
            ]
        )
        return
    table = Table("treatment", "name", "offered", "version", "title", "written by", "written")
    for offer, form in rows:
        table.add_row(
            offer.treatment,
            offer.name,
            "yes" if offer.active else "no",
            str(form.version) if form else "-",
            escape(form.title) if form else "none: nothing to sign",
            form.written_by if form else "-",
            _local(form.written_at, zone) if form else "-",
        )
    console.print(table)


def _body(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError("body-file", f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError("body-file", f"cannot read {path}: it is not UTF-8 text") from None


def _write(clinic: int, slug: str, title: str, body_file: str, as_json: bool) -> None:
    with bad_input_exits(OPTIONS):
        body = _body(body_file)
        written = write_form(sessions(), clinic_id=clinic, treatment=slug, title=title, body=body, actor=actor())
    form = written.form
    if as_json:
        print_json(form_dict(form) | {"changed": written.changed})
    elif written.changed:
        console.print(
            f"[green]version {form.version}[/] of the {_names().get(slug, slug)} consent form is in use at clinic "
            f"{clinic}; signatures on earlier versions no longer cover visits: patients sign again.",
            soft_wrap=True,
        )
    else:
        console.print(
            f"no change: version {form.version} in use has this title and text already; nothing written.",
            soft_wrap=True,
        )


def _show(clinic: int, slug: str, as_json: bool) -> None:
    with bad_input_exits(OPTIONS), UnitOfWork(sessions()) as uow:
        zone = clinic_zone(get_clinic(uow.session, clinic).time_zone)
        shown = draft(uow.session, default_knowledge_base(), clinic, slug)
    name = _names().get(slug, slug)
    current = shown.current
    if as_json:
        print_json(
            {
                "clinic_id": shown.clinic_id,
                "treatment": shown.treatment,
                "treatment_name": name,
                "in_use": current is not None,
                "title": shown.title,
                "body": shown.body,
                "form": form_dict(current) if current else None,
            }
        )
        return
    if current is None:
        console.print(
            f"[yellow]DRAFT, not in use[/]: the knowledge base's starter for {name} at clinic {clinic}, for the "
            "clinic to read and change, then put in use with --title and --body-file. Until then patients have "
            "no form to sign for it.",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[green]version {current.version} in use[/] at clinic {clinic} for {name}, written by "
            f"{current.written_by} on {_local(current.written_at, zone)}.",
            soft_wrap=True,
        )
    console.print(AT_THE_VISIT, soft_wrap=True)
    console.print()
    for text in (shown.title, "", shown.body):
        console.print(text, soft_wrap=True, markup=False, highlight=False, emoji=False)


def consent_form_command(
    clinic: ClinicOption,
    treatment: TreatmentOption,
    title: Annotated[str | None, typer.Option("--title", help="The new version's title (with --body-file).")] = None,
    body_file: Annotated[
        str | None,
        typer.Option("--body-file", metavar="PATH", help="The new version's text, UTF-8 (-: standard input)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The clinic's consent form in use for a treatment, or the knowledge base's starter as a draft not in use.
    With --title and --body-file, put a new version in use: patients who signed an earlier one sign again (the
    same words again write nothing). A practitioner still confirms informed consent at the visit."""
    slug = treatment.strip()
    if title is not None and body_file is not None:
        _write(clinic, slug, title, body_file, as_json)
        return
    with bad_input_exits(OPTIONS):
        if title is not None:
            raise InputError("body-file", "give the new version's text: a file, or - for standard input")
        if body_file is not None:
            raise InputError("title", "give the new version's title with its text")
    _show(clinic, slug, as_json)


def _last_day(found: Signature) -> str:
    return (found.signed_day + VALID_FOR - timedelta(days=1)).isoformat()


def _signature_status(found: Signature, in_use: Form | None, zone: ZoneInfo) -> str:
    if found.withdrawn_at is not None:
        return f"withdrawn {_local(found.withdrawn_at, zone)} by {found.withdrawn_by}"
    if in_use is None:
        return "no form in use now"
    if in_use.id != found.form.id:
        return f"version {in_use.version} in use now: sign again"
    return f"covers visits up to {_last_day(found)}"


def _standing(found: Coverage) -> str:
    words = {
        Standing.NO_FORM: "no form to sign",
        Standing.SIGNED: f"[green]signed[/] (consent {found.signature.id if found.signature else '-'})",
        Standing.NEEDED: "[yellow]not signed[/]",
        Standing.NEW_VERSION: f"[yellow]form changed[/]: sign version {found.form.version if found.form else '-'}",
        Standing.EXPIRED: "[yellow]signed over a year before the visit[/]: sign again",
        Standing.WITHDRAWN: "[yellow]withdrawn[/]: sign again",
    }
    return words[found.standing]


def consents_command(patient: PatientArgument, as_json: JsonFlag = False) -> None:
    """A patient's signed consent forms, withdrawn ones too, newest first, and whether each upcoming visit's
    consent is on file. A form on file records consent; a practitioner still confirms informed consent at the visit."""
    names = _names()
    with bad_input_exits(OPTIONS), UnitOfWork(sessions()) as uow:
        found = uow.session.get(models.Patient, patient)
        if found is None:
            raise NotFound("patient", f"no patient {patient}")
        person = found.name
        signed = signatures_of(uow.session, patient)
        clinics = {s.form.clinic_id for s in signed}
        zones = {c: clinic_zone(get_clinic(uow.session, c).time_zone) for c in clinics}
        in_use = forms_of_clinics(uow.session, clinics)
        upcoming = [
            (visit_row(visit, visit.clinic.time_zone), covered)
            for visit, covered in upcoming_coverage(uow.session, patient, signed=signed)
        ]
    if as_json:
        print_json(
            {
                "patient_id": patient,
                "name": person,
                "signatures": [signature_dict(s, names) for s in signed],
                "upcoming": [row | {"consent": coverage_dict(covered)} for row, covered in upcoming],
            }
        )
        return
    console.print(f"Patient {patient} {person}: consent forms signed", soft_wrap=True, markup=False)
    if signed:
        table = Table("id", "clinic", "treatment", "version", "signed as", "signed", "how", "recorded by", "status")
        for s in signed:
            zone = zones[s.form.clinic_id]
            table.add_row(
                str(s.id),
                str(s.form.clinic_id),
                names.get(s.form.treatment, s.form.treatment),
                str(s.form.version),
                escape(s.signed_name),
                _local(s.signed_at, zone),
                "on paper" if s.on_paper else "online",
                s.recorded_by,
                _signature_status(s, in_use[s.form.clinic_id].get(s.form.treatment), zone),
            )
        console.print(table)
    else:
        console.print("  none")
    console.print("Upcoming visits:")
    if upcoming:
        table = Table("visit", "local time", "clinic", "treatment", "consent")
        for row, covered in upcoming:
            table.add_row(
                str(row["id"]),
                f"{row['start'][:10]} {row['start'][11:16]}",
                str(row["clinic"]),
                names.get(row["treatment"], row["treatment"]),
                _standing(covered),
            )
        console.print(table)
    else:
        console.print("  none booked")
    console.print(AT_THE_VISIT, soft_wrap=True)


def consent_command(
    patient: PatientArgument,
    clinic: ClinicOption,
    treatment: TreatmentOption,
    name: Annotated[str, typer.Option("--name", help="The patient's name as signed on the paper form.")],
    version: Annotated[
        int | None, typer.Option("--version", help="The form's version on the paper the patient signed.")
    ] = None,
    signed_on: Annotated[
        str | None,
        typer.Option("--signed-on", help="The day written on the signed form, YYYY-MM-DD (today if not given)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a consent form the patient signed on paper, for the clinic's version in use (a newer version is
    refused: the patient reads and signs that), dated as written on it. A practitioner still confirms informed
    consent at the visit."""
    with bad_input_exits(OPTIONS), refusals_exit(as_json):
        day = parse_day(signed_on, "signed_on") if signed_on is not None else None
        signed = sign(
            sessions(),
            patient_id=patient,
            clinic_id=clinic,
            treatment=treatment.strip(),
            version=version,
            signed_name=name,
            agreed=True,  # the signature on the paper form is the patient's agreement
            actor=actor(),
            on_paper=True,
            signed_on=day,
        )
    names = _names()
    if as_json:
        print_json(signature_dict(signed, names))
        return
    form = signed.form
    console.print(
        f"[green]consent {signed.id}[/]: patient {signed.patient_id} signed version {form.version} of "
        f'"{escape(form.title)}" on paper as "{escape(signed.signed_name)}" (clinic {form.clinic_id}, '
        f"{names.get(form.treatment, form.treatment)}); it covers visits up to {_last_day(signed)}.",
        soft_wrap=True,
    )
    console.print(AT_THE_VISIT, soft_wrap=True)


def withdraw_consent_command(
    consent: Annotated[int, typer.Argument(metavar="CONSENT_ID", help="Consent id (see `safewindow consents`).")],
    patient: Annotated[
        int | None, typer.Option("--patient", help="Only if it is this patient's consent (a check on the id).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Withdraw a patient's consent: it no longer covers any visit, and they sign again before one."""
    with bad_input_exits(OPTIONS):
        withdrawn = withdraw(sessions(), consent, actor=actor(), patient_id=patient)
    found = withdrawn.signature
    if as_json:
        print_json(signature_dict(found, _names()) | {"already_withdrawn": withdrawn.already})
        return
    when = _local(found.withdrawn_at, clinic_zone(DEFAULT_ZONE)) if found.withdrawn_at else "-"
    console.print(
        f"{'already withdrawn' if withdrawn.already else 'withdrawn'} consent {found.id}: patient "
        f'{found.patient_id}, version {found.form.version} of "{found.form.title}" (clinic {found.form.clinic_id}), '
        f"by {found.withdrawn_by} at {when}" + (": nothing changed" if withdrawn.already else ""),
        soft_wrap=True,
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("consent-forms")(consent_forms_command)
    app.command("consent-form")(consent_form_command)
    app.command("consents")(consents_command)
    app.command("consent")(consent_command)
    app.command("withdraw-consent")(withdraw_consent_command)
