"""What was given at a visit, on real SQLite and PostgreSQL: recorded only once the visit is completed and only
with the patient's informed consent confirmed; every field at fault named and nothing written; a correction is a
new record and the newest counts, so a recall's lot search finds the visits whose current record names the lot.
Audited by ids, never with what was given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Refused, book
from safewindow.services.chart import load_chart
from safewindow.services.errors import FieldProblems, NotFound
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.slots import find_slots_for
from safewindow.services.treatment_records import record_treatment, records_of_visit, visits_with_lot
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

CLINIC = 1
GIVEN = {"product": "Botox 100U", "lot": "c1234-ab", "expires_on": date(2027, 6, 30), "dose": "20 units"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _visit(sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, *, completed: bool = True) -> int:
    slot = find_slots_for(sessions, kb, treatment="botox", clinic_id=CLINIC, patient_id=patient, limit=1, now=NOW)[0]
    visit = book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=slot.slot.start,
        practitioner_id=int(slot.slot.practitioner_id),
        actor="front-desk",
        now=NOW,
    ).visit
    if completed:
        after = visit.end_at + timedelta(minutes=5)
        record_outcome(sessions, kb, visit_id=visit.id, outcome=Outcome.COMPLETED, actor="nurse", now=after)
    return visit.id


def _record(sessions: sessionmaker[Session], visit: int, **given: object) -> int:
    values: dict[str, object] = GIVEN | {"consent": True, "actor": "anika", "now": NOW + timedelta(days=10)} | given
    return record_treatment(sessions, visit_id=visit, **values).id  # type: ignore[arg-type]


def _rows(sessions: sessionmaker[Session]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(models.TreatmentRecord)) or 0


def test_a_completed_visit_is_recorded_with_its_lot_and_the_chart_shows_it(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    visit = _visit(sessions, kb, patient)
    _record(sessions, visit)
    with UnitOfWork(sessions) as uow:
        (record,) = records_of_visit(uow.session, visit)
        chart = load_chart(uow.session, kb, patient, now=NOW + timedelta(days=10))
        audit = uow.session.execute(
            select(models.AuditEntry.action, models.AuditEntry.detail).where(
                models.AuditEntry.action == "visit.treatment-recorded", models.AuditEntry.entity_id == str(visit)
            )
        ).all()
    assert (record.product, record.lot_number, record.dose) == ("Botox 100U", "C1234-AB", "20 units")
    assert not record.expired_when_given
    (shown,) = [v for v in chart.past if v.visit_id == visit]
    assert shown.records == (record,)
    ((_, detail),) = audit
    assert detail["record_id"] == record.id and detail["amends"] is False
    assert "C1234" not in str(detail) and "Botox" not in str(detail)


def test_not_before_the_visit_is_completed(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _visit(sessions, kb, new_patient(), completed=False)
    before = _rows(sessions)
    with pytest.raises(Refused) as refused:
        _record(sessions, visit)
    assert [p.code for p in refused.value.problems] == ["visit-not-completed"]
    assert _rows(sessions) == before
    with pytest.raises(NotFound):
        _record(sessions, 424242)


def test_every_field_at_fault_is_named_and_nothing_is_written(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _visit(sessions, kb, new_patient())
    before = _rows(sessions)
    with pytest.raises(FieldProblems) as error:
        _record(sessions, visit, product=" ", lot="lot #7", consent=False, note="x" * 2001, dose="d" * 101)
    assert sorted(field for field, _ in error.value.problems) == ["consent", "dose", "lot_number", "note", "product"]
    assert _rows(sessions) == before


def test_a_correction_is_a_new_record_and_the_lot_search_follows_the_newest(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    first, second = new_patient(name="First Patient"), new_patient(name="Second Patient")
    one, two = _visit(sessions, kb, first), _visit(sessions, kb, second)
    _record(sessions, one, lot="LOT-77")
    _record(sessions, two, lot="LOT-77", expires_on=date(2026, 11, 1))  # expired before the visit
    with UnitOfWork(sessions) as uow:
        found = visits_with_lot(uow.session, " lot-77 ")
        (expired,) = records_of_visit(uow.session, two)
    assert [(v.visit_id, v.patient) for v in found] == [(one, "First Patient"), (two, "Second Patient")]
    assert expired.expired_when_given

    corrected = _record(sessions, one, lot="LOT-78")
    with UnitOfWork(sessions) as uow:
        assert [v.visit_id for v in visits_with_lot(uow.session, "LOT-77")] == [two]
        assert [v.visit_id for v in visits_with_lot(uow.session, "LOT-78")] == [one]
        assert [v.visit_id for v in visits_with_lot(uow.session, "LOT-77", clinic_id=2)] == []
        records = records_of_visit(uow.session, one)
    assert records[0].id == corrected and [r.lot_number for r in records] == ["LOT-78", "LOT-77"]
    with UnitOfWork(sessions) as uow, pytest.raises(FieldProblems):
        visits_with_lot(uow.session, "")


def test_the_database_itself_refuses_a_record_without_consent(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _visit(sessions, kb, new_patient())
    with UnitOfWork(sessions, write=True) as uow, pytest.raises(Exception, match="consent"):
        uow.session.add(
            models.TreatmentRecord(
                visit_id=visit, product="X", lot_number="L1", consent_confirmed=False, recorded_by="t", recorded_at=NOW
            )
        )
        uow.session.flush()
