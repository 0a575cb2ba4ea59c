"""The clinic's name, address and telephone number on real SQLite and PostgreSQL: a change is checked field by
field before anything is written, audited with what it was before, and the next booking's mail is signed with it.
Clinic 1 is the demo's Fraser Valley Skin Studio, 604-555-0100; times are local Abbotsford times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.admin import NAME_LONGEST, ClinicDetails, clinic_details, set_clinic_details
from safewindow.services.booking import book
from safewindow.services.clinic_setup import clinic_setup
from safewindow.services.errors import FieldProblems
from safewindow.services.notifications import write_mail_for_changes
from safewindow.store import models
from safewindow.store.outbox_models import OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

CLINIC = 1
DEMO = ClinicDetails(
    "Fraser Valley Skin Studio", "Unit 204, 33120 South Fraser Way, Abbotsford, BC V2S 2B1", "604-555-0100"
)
ACTION = "clinic.details-changed"


def details(sessions: sessionmaker[Session]) -> ClinicDetails:
    with UnitOfWork(sessions) as uow:
        return clinic_details(uow.session, CLINIC)


def audited(sessions: sessionmaker[Session]) -> list[models.AuditEntry]:
    with UnitOfWork(sessions) as uow:
        query = select(models.AuditEntry).where(models.AuditEntry.action == ACTION).order_by(models.AuditEntry.id)
        return list(uow.session.scalars(query))


def audit_count(sessions: sessionmaker[Session]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(models.AuditEntry)) or 0


def change(sessions: sessionmaker[Session], name: str, address: str, phone: str) -> ClinicDetails:
    return set_clinic_details(
        sessions, clinic_id=CLINIC, name=name, address=address, phone=phone, actor="clinic-admin:5", now=NOW
    )


def test_a_change_is_saved_and_audited_with_before_and_after(sessions: sessionmaker[Session]) -> None:
    assert details(sessions) == DEMO
    saved = change(
        sessions,
        "  Fraser Valley Skin & Laser  ",
        "Unit 5\r\n  100 Main Street \r\n\r\nAbbotsford, BC",
        " (604) 555-0199 ",
    )
    # The number as the clinic writes it, the address a line each.
    expected = ClinicDetails("Fraser Valley Skin & Laser", "Unit 5\n100 Main Street\nAbbotsford, BC", "(604) 555-0199")
    assert saved == expected and details(sessions) == expected
    [entry] = audited(sessions)
    assert (entry.actor, entry.entity, entry.entity_id, entry.at) == ("clinic-admin:5", "clinic", "1", NOW)
    assert entry.detail == {"before": DEMO.as_dict(), "after": expected.as_dict()}

    change(sessions, expected.name, expected.address, expected.phone)
    assert len(audited(sessions)) == 1  # saving it unchanged changes nothing


def test_a_landline_or_a_number_abroad_will_do(sessions: sessionmaker[Session]) -> None:
    assert change(sessions, DEMO.name, DEMO.address, "+44 20 7946 0958").phone == "+44 20 7946 0958"
    assert change(sessions, DEMO.name, DEMO.address, "1-800-555-0199").phone == "1-800-555-0199"


def test_the_longest_name_and_address_will_do(sessions: sessionmaker[Session]) -> None:
    saved = change(sessions, "x" * 150, "y" * 500, DEMO.phone)
    assert (len(saved.name), len(saved.address)) == (150, 500) and details(sessions) == saved


@pytest.mark.parametrize(
    ("name", "address", "phone", "at_fault"),
    [
        ("", DEMO.address, DEMO.phone, ["name"]),
        ("x" * 151, DEMO.address, DEMO.phone, ["name"]),  # e-mail subjects hold 200 characters, with the name
        ("Fraser Valley\nSkin Studio", DEMO.address, DEMO.phone, ["name"]),
        (DEMO.name, " \n ", DEMO.phone, ["address"]),
        (DEMO.name, "x" * 501, DEMO.phone, ["address"]),
        (DEMO.name, DEMO.address, "555-0100", ["phone"]),  # no area code
        (DEMO.name, DEMO.address, "call us", ["phone"]),
        (DEMO.name, DEMO.address, "604-555-0100 " + "9" * 20, ["phone"]),  # longer than the column
        ("", "", "12345", ["name", "address", "phone"]),
    ],
    ids=[
        "no-name",
        "long-name",
        "two-line-name",
        "no-address",
        "long-address",
        "short-number",
        "words",
        "long-number",
        "all",
    ],
)
def test_each_field_at_fault_is_named_and_nothing_changes(
    sessions: sessionmaker[Session], name: str, address: str, phone: str, at_fault: list[str]
) -> None:
    before = audit_count(sessions)
    with pytest.raises(FieldProblems) as refused:
        change(sessions, name, address, phone)
    assert [field for field, _ in refused.value.problems] == at_fault
    assert details(sessions) == DEMO and audit_count(sessions) == before


def test_an_empty_phone_removes_it(sessions: sessionmaker[Session]) -> None:
    assert change(sessions, DEMO.name, DEMO.address, "  ").phone == ""
    with UnitOfWork(sessions) as uow:
        clinic = uow.session.get(models.Clinic, CLINIC)
        assert clinic is not None and clinic.phone is None
    [entry] = audited(sessions)
    assert entry.detail["before"]["phone"] == "604-555-0100" and entry.detail["after"]["phone"] == ""


def test_the_next_booked_mail_is_signed_with_the_new_name_and_number(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    first = booked_mail(sessions, new_patient, "first@example.com", 1)["visit-booked"]  # the setup is kept now
    assert first.body.rstrip().endswith("Telephone 604-555-0100")

    change(sessions, "Mill Street Aesthetics", "Unit 5\n100 Main Street\nAbbotsford, BC", "604-555-0199")
    mail = booked_mail(sessions, new_patient, "second@example.com", 2)["visit-booked"]
    assert mail.subject == "Your visit at Mill Street Aesthetics is booked"
    signature = ["Mill Street Aesthetics", "Unit 5", "100 Main Street", "Abbotsford, BC", "Telephone 604-555-0199"]
    assert mail.body.rstrip().splitlines()[-5:] == signature
    assert "at Mill Street Aesthetics, Unit 5, 100 Main Street, Abbotsford, BC." in mail.body  # one line in a sentence
    [event] = Calendar.from_ical(mail.ics or "").walk("VEVENT")
    assert str(event["LOCATION"]) == "Mill Street Aesthetics, Unit 5, 100 Main Street, Abbotsford, BC"
    with UnitOfWork(sessions) as uow:
        assert clinic_setup(uow.session, CLINIC).name == "Mill Street Aesthetics"  # not the copy kept before


def test_the_longest_name_fits_every_subject(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    """PostgreSQL refuses a subject over its 200 characters, and with it the whole outbox write."""
    change(sessions, "x" * NAME_LONGEST, DEMO.address, DEMO.phone)
    mail = booked_mail(sessions, new_patient, "long@example.com", 1)
    assert {"visit-booked", "reminder-48h", "reminder-2h"} <= set(mail)
    assert max(len(m.subject) for m in mail.values()) <= 200


def booked_mail(
    sessions: sessionmaker[Session], new_patient: Callable[..., int], email: str, december_day: int
) -> dict[str, OutboxMessage]:
    """Book a new patient's Botox at 10:00 on that day in December 2026, and write its mail as the worker does:
    by kind."""
    kb = default_knowledge_base()
    patient = new_patient(name="Asha Grewal", email=email)
    start = datetime(2026, 12, december_day, 10, tzinfo=clinic_zone("America/Vancouver"))
    book(sessions, kb, patient_id=patient, treatment="botox", clinic_id=CLINIC, start=start, actor="t", now=NOW)
    write_mail_for_changes(sessions, kb=kb)
    with UnitOfWork(sessions) as uow:
        return {m.kind: m for m in uow.session.scalars(select(OutboxMessage).filter_by(recipient=email))}
