"""Consent forms on real SQLite and PostgreSQL: a clinic's form in versions (unchanged text writes none), a
patient's signature on the version in use covering their visits, refusals that name every field and write
nothing, a form changed while it was read, withdrawal, the booked e-mail asking for a signature only while
none is on file, audit entries by id only, and the database refusing to rewrite what was signed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.domain.consent import Standing
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import consents
from safewindow.services.booking import Refused, book
from safewindow.services.errors import FieldProblems, NotFound
from safewindow.services.notifications import write_mail_for_changes
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.consent_models import Consent, ConsentForm, ConsentWithdrawal
from safewindow.store.outbox_models import OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

KB = default_knowledge_base()
CLINIC = 1  # the demo clinic starts with forms for botox, its touch-up, filler and microneedling
NAME = "Harpreet Sandhu"


def _count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _botox_visit(sessions: sessionmaker[Session], patient: int) -> int:
    slot = find_slots_for(sessions, KB, treatment="botox", clinic_id=CLINIC, patient_id=patient, limit=1, now=NOW)[0]
    return book(
        sessions,
        KB,
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=slot.slot.start,
        practitioner_id=int(slot.slot.practitioner_id),
        actor="front-desk",
        now=NOW,
    ).visit.id


def _standing(sessions: sessionmaker[Session], patient: int) -> dict[int, Standing]:
    with UnitOfWork(sessions) as uow:
        return {visit.id: found.standing for visit, found in consents.upcoming_coverage(uow.session, patient, NOW)}


def _sign(sessions: sessionmaker[Session], patient: int, **given: object) -> int:
    values: dict[str, object] = {
        "patient_id": patient,
        "clinic_id": CLINIC,
        "treatment": "botox",
        "version": 1,
        "signed_name": NAME,
        "agreed": True,
        "actor": f"patient:{patient}",
        "now": NOW,
    } | given
    return consents.sign(sessions, **values).id  # type: ignore[arg-type]


def test_a_signature_on_the_form_in_use_covers_the_patients_visit(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(name=NAME)
    visit = _botox_visit(sessions, patient)
    assert _standing(sessions, patient) == {visit: Standing.NEEDED}
    consent = _sign(sessions, patient, signed_name="  harpreet   SANDHU ")
    assert _standing(sessions, patient) == {visit: Standing.SIGNED}
    with UnitOfWork(sessions) as uow:
        (signed,) = consents.signatures_of(uow.session, patient)
        detail = uow.session.scalar(
            select(models.AuditEntry.detail).where(models.AuditEntry.action == "patient.consent-signed")
        )
    assert (signed.id, signed.signed_name, signed.form.version, signed.on_paper) == (
        consent,
        "harpreet SANDHU",
        1,
        False,
    )
    assert detail == {"consent_id": consent, "form_id": signed.form.id, "on_paper": False}  # ids: no treatment


def test_every_field_at_fault_is_named_and_nothing_is_written(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(name=NAME)
    with pytest.raises(FieldProblems) as refused:
        _sign(sessions, patient, signed_name="Someone Else", agreed=False, version=None)
    assert {field for field, _ in refused.value.problems} == {"agreed", "signed_name", "version"}
    assert "Harpreet Sandhu" in dict(refused.value.problems)["signed_name"]
    with pytest.raises(NotFound):
        _sign(sessions, patient, treatment="hydrafacial")  # not offered, or no form: nothing to sign
    assert _count(sessions, Consent) == 0


def test_a_form_changed_while_it_was_read_is_not_signed(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(name=NAME)
    visit = _botox_visit(sessions, patient)
    _sign(sessions, patient)
    written = consents.write_form(
        sessions,
        clinic_id=CLINIC,
        treatment="botox",
        title="Consent to Botox",
        body="Our own words.",
        actor="admin",
        now=NOW,
    )
    assert (written.form.version, written.changed) == (2, True)
    assert _standing(sessions, patient) == {visit: Standing.NEW_VERSION}
    with pytest.raises(Refused) as refused:
        _sign(sessions, patient, version=1)
    assert refused.value.problems[0].code == "consent-form-changed"
    for unknown in (0, 3):  # not a version of this form at all: bad input, not a change
        with pytest.raises(FieldProblems, match="no version"):
            _sign(sessions, patient, version=unknown)
    assert _count(sessions, Consent) == 1
    _sign(sessions, patient, version=2)
    assert _standing(sessions, patient) == {visit: Standing.SIGNED}


def test_unchanged_text_writes_no_version_and_every_version_is_kept(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        first = consents.form_for(uow.session, CLINIC, "botox")
    assert first is not None
    again = consents.write_form(
        sessions, clinic_id=CLINIC, treatment="botox", title=f" {first.title} ", body=first.body + "\n", actor="admin"
    )
    assert (again.form, again.changed) == (first, False)
    consents.write_form(sessions, clinic_id=CLINIC, treatment="botox", title="New", body="New words", actor="admin")
    with UnitOfWork(sessions) as uow:
        versions = consents.form_versions(uow.session, CLINIC, "botox")
        audit = uow.session.scalars(
            select(models.AuditEntry.detail).where(models.AuditEntry.action == "clinic.consent-form-written")
        ).all()
    assert [(f.version, f.body) for f in versions] == [(2, "New words"), (1, first.body)]
    assert audit == [{"form_id": versions[0].id, "treatment": "botox", "version": 2, "before_version": 1}]


def test_an_edit_begun_from_an_older_version_does_not_replace_a_newer_one(sessions: sessionmaker[Session]) -> None:
    def write(words: str, based_on: int) -> int:
        written = consents.write_form(
            sessions, clinic_id=CLINIC, treatment="botox", title="T", body=words, actor="admin", based_on=based_on
        )
        return written.form.version

    assert write("First admin", based_on=1) == 2
    with pytest.raises(Refused, match="Version 2 of this form was saved after you began from version 1"):
        write("Second admin", based_on=1)
    with pytest.raises(Refused, match="after you began from the starter"):
        write("Second admin", based_on=0)
    assert write("Second admin, having read version 2", based_on=2) == 3


def test_a_form_needs_a_title_and_words_of_a_sensible_length(sessions: sessionmaker[Session]) -> None:
    before = _count(sessions, ConsentForm)
    with pytest.raises(FieldProblems) as refused:
        consents.write_form(sessions, clinic_id=CLINIC, treatment="botox", title=" ", body="x" * 20_001, actor="a")
    assert [field for field, _ in refused.value.problems] == ["title", "body"]
    with pytest.raises(NotFound):
        consents.write_form(sessions, clinic_id=CLINIC, treatment="kybella", title="T", body="B", actor="a")
    assert _count(sessions, ConsentForm) == before


def test_the_starter_is_the_draft_until_the_clinic_writes_its_own(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        offered = {t.treatment_slug for t in uow.session.get_one(models.Clinic, CLINIC).treatments}
        without = sorted(offered - set(consents.forms_of_clinic(uow.session, CLINIC)))
        assert without, "the demo clinic offers a treatment with no form"
        draft = consents.draft(uow.session, KB, CLINIC, without[0])
        in_use = consents.draft(uow.session, KB, CLINIC, "botox")
    assert draft.current is None and KB.treatments[without[0]].name in draft.body
    assert in_use.current is not None and in_use.body == in_use.current.body


def test_a_withdrawn_consent_covers_nothing_and_only_its_patient_may_withdraw_it(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient, other = new_patient(name=NAME), new_patient(name="Someone Else")
    visit = _botox_visit(sessions, patient)
    consent = _sign(sessions, patient)
    with pytest.raises(NotFound):
        consents.withdraw(sessions, consent, actor=f"patient:{other}", patient_id=other)
    first = consents.withdraw(sessions, consent, actor=f"patient:{patient}", patient_id=patient, now=NOW)
    second = consents.withdraw(sessions, consent, actor="front-desk")
    assert (first.already, second.already) == (False, True)
    assert first.signature.withdrawn_at == NOW and first.signature.withdrawn_by == f"patient:{patient}"
    assert _standing(sessions, patient) == {visit: Standing.WITHDRAWN}
    assert _count(sessions, ConsentWithdrawal) == 1


def test_the_booked_mail_asks_for_a_signature_only_while_none_is_on_file(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    unsigned = new_patient(name=NAME, email="harpreet@example.com")
    signed = new_patient(name="Signed Already", email="signed@example.com")
    _sign(sessions, signed, signed_name="Signed Already")
    for patient in (unsigned, signed):
        _botox_visit(sessions, patient)
    write_mail_for_changes(sessions, kb=KB)
    with UnitOfWork(sessions) as uow:
        bodies = dict(
            uow.session.execute(
                select(OutboxMessage.patient_id, OutboxMessage.body).where(OutboxMessage.kind == "visit-booked")
            ).all()
        )
    assert "read and sign the clinic's consent form" in bodies[unsigned]
    assert "/my/consents" in bodies[unsigned]
    assert "consent form" not in bodies[signed]


def test_a_visit_that_happened_keeps_the_consent_it_had(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(name=NAME)
    visit = _botox_visit(sessions, patient)
    consent = _sign(sessions, patient)
    with UnitOfWork(sessions) as uow:
        start = uow.session.get_one(models.Visit, visit).start_at
    later = start + timedelta(days=1)
    consents.write_form(
        sessions, clinic_id=CLINIC, treatment="botox", title="New", body="New words", actor="admin", now=later
    )
    consents.withdraw(sessions, consent, actor=f"patient:{patient}", now=later)
    with UnitOfWork(sessions) as uow:
        then = consents.coverage_of_visits(uow.session, patient, [uow.session.get_one(models.Visit, visit)])[visit]
    assert then.standing is Standing.SIGNED and then.form is not None and then.form.version == 1


@pytest.mark.parametrize("model", [ConsentForm, Consent, ConsentWithdrawal])
def test_the_database_refuses_to_rewrite_what_was_signed(
    sessions: sessionmaker[Session], new_patient: Callable[..., int], model: type[ConsentForm]
) -> None:
    patient = new_patient(name=NAME)
    consent = _sign(sessions, patient)
    consents.withdraw(sessions, consent, actor="front-desk", now=NOW + timedelta(days=1))
    for change in (update(model).values(id=model.id), delete(model)):
        with pytest.raises(DBAPIError, match="append-only"), UnitOfWork(sessions, write=True) as uow:
            uow.session.execute(change)
            uow.commit()
    assert _count(sessions, model) >= 1


def test_a_paper_form_is_dated_as_written_on_it_within_the_days_it_could_have_been_signed(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(name=NAME)
    visit = _botox_visit(sessions, patient)
    paper: dict[str, object] = {"on_paper": True, "actor": "front-desk"}
    today = NOW.astimezone(clinic_zone("America/Vancouver")).date()  # 25 Nov 2026; the form is in use from 11 Nov
    for signed_on, words in (
        (today + timedelta(days=1), "is after today"),
        (date(2026, 11, 10), "version 1 of this form was put in use on 11 Nov 2026"),
    ):
        with pytest.raises(FieldProblems) as refused:
            _sign(sessions, patient, signed_on=signed_on, **paper)
        [(field, problem)] = refused.value.problems
        assert field == "signed_on" and words in problem
    with pytest.raises(FieldProblems) as online:
        _sign(sessions, patient, signed_on=today)  # a patient signing online does not date it
    assert [field for field, _ in online.value.problems] == ["signed_on"]
    with pytest.raises(FieldProblems) as stale:
        _sign(sessions, patient, signed_on=date(2026, 11, 12), now=NOW + timedelta(days=400), **paper)
    assert "a year or more ago" in dict(stale.value.problems)["signed_on"]
    assert _count(sessions, Consent) == 0

    consent = _sign(sessions, patient, signed_on=date(2026, 11, 12), **paper)
    with UnitOfWork(sessions) as uow:
        (signed,) = consents.signatures_of(uow.session, patient)
    assert (signed.id, signed.signed_day, signed.on_paper) == (consent, date(2026, 11, 12), True)
    assert _standing(sessions, patient) == {visit: Standing.SIGNED}
    # Its year counts from the day written on it: the last day it covers is 11 Nov 2027, not 24 Nov.
    with UnitOfWork(sessions) as uow:
        form = consents.form_for(uow.session, CLINIC, "botox")
    assert form is not None and signed.covers(form, date(2027, 11, 12)) is False
    assert signed.covers(form, date(2027, 11, 11))


def test_a_paper_form_dated_before_the_patient_withdrew_is_not_recorded(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(name=NAME)
    online = _sign(sessions, patient, now=NOW - timedelta(days=10))  # 15 Nov
    consents.withdraw(sessions, online, actor=f"patient:{patient}", now=NOW - timedelta(days=5))  # 20 Nov
    paper: dict[str, object] = {"on_paper": True, "actor": "front-desk"}
    with pytest.raises(FieldProblems) as refused:
        _sign(sessions, patient, signed_on=date(2026, 11, 18), **paper)
    assert refused.value.problems == [
        (
            "signed_on",
            "the patient withdrew this consent on 20 Nov 2026, which ends what was signed before: "
            "ask them to sign the form again",
        )
    ]
    assert _count(sessions, Consent) == 1
    _sign(sessions, patient, signed_on=date(2026, 11, 20), **paper)  # the same day: signed after withdrawing
    _sign(sessions, patient, signed_on=date(2026, 11, 22), **paper)
    assert _count(sessions, Consent) == 3
