"""What happened at a visit, recorded by staff, on real SQLite and PostgreSQL: only once the visit has begun and
never for a cancelled one; audited with what it was; a no-show leaves the patient's history (its waits no longer
hold them back) and the later visits that needed it are reported, not refused; a correction back to completed is
refused by the database if the time was booked meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Refused, book, cancel
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

CLINIC = 1  # Fraser Valley Skin Studio


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _book(
    sessions: sessionmaker[Session],
    kb: KnowledgeBase,
    patient: int,
    treatment: str,
    *,
    after: datetime = NOW,
    practitioner: int | None = None,
    now: datetime = NOW,
) -> models.Visit:
    """The patient's visit at the first free time from `after`, booked at `now`."""
    found = find_slots_for(
        sessions,
        kb,
        treatment=treatment,
        clinic_id=CLINIC,
        practitioner_id=practitioner,
        limit=1,
        now=max(now, after),
    )
    slot = found[0].slot
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment=treatment,
        clinic_id=CLINIC,
        start=slot.start,
        practitioner_id=int(slot.practitioner_id),
        actor="front-desk",
        now=now,
    ).visit


def _audited(sessions: sessionmaker[Session], visit_id: int) -> list[tuple[str, dict]]:
    with UnitOfWork(sessions) as uow:
        rows = uow.session.execute(
            select(models.AuditEntry.action, models.AuditEntry.detail)
            .where(models.AuditEntry.entity == "visit", models.AuditEntry.entity_id == str(visit_id))
            .order_by(models.AuditEntry.id)
        )
        return [(action, detail) for action, detail in rows]


def test_a_visit_that_has_begun_is_completed_once_and_audited(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _book(sessions, kb, new_patient(), "botox")
    during = visit.start_at + timedelta(minutes=5)
    recorded = record_outcome(sessions, kb, visit_id=visit.id, outcome=Outcome.COMPLETED, actor="desk", now=during)
    assert (recorded.visit.status, recorded.was, recorded.unsafe) == (
        models.VisitStatus.COMPLETED,
        models.VisitStatus.BOOKED,
        (),
    )
    again = record_outcome(sessions, kb, visit_id=visit.id, outcome=Outcome.COMPLETED, actor="desk", now=during)
    assert again.was is models.VisitStatus.COMPLETED
    assert [a for a, _ in _audited(sessions, visit.id)] == ["visit.booked", "visit.completed"]
    assert _audited(sessions, visit.id)[-1][1]["was"] == "booked"


def test_no_outcome_before_the_visit_begins_nor_for_a_cancelled_one(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _book(sessions, kb, new_patient(), "botox")
    with pytest.raises(Refused) as early:
        record_outcome(
            sessions,
            kb,
            visit_id=visit.id,
            outcome=Outcome.NO_SHOW,
            actor="desk",
            now=visit.start_at - timedelta(seconds=1),
        )
    assert early.value.problems[0].code == "visit-not-begun"
    cancel(sessions, kb, visit_id=visit.id, actor="desk", now=NOW)
    with pytest.raises(Refused) as cancelled:
        record_outcome(sessions, kb, visit_id=visit.id, outcome=Outcome.COMPLETED, actor="desk", now=visit.start_at)
    assert cancelled.value.problems[0].code == "visit-cancelled"
    assert [a for a, _ in _audited(sessions, visit.id)] == ["visit.booked", "visit.cancelled"]


def test_a_no_show_no_longer_holds_the_patient_back_and_a_correction_reports_what_it_breaks(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    """Botox waits 14 days after microneedling (soft). Booked three days after a microneedling visit the patient
    missed, it goes ahead with no override; when the front desk corrects the microneedling to completed, that
    Botox visit comes back as now unsafe, still booked, for staff to move."""
    patient = new_patient()
    needling = _book(sessions, kb, patient, "microneedling")
    three_days = needling.start_at + timedelta(days=3)
    with pytest.raises(Refused) as blocked:
        _book(sessions, kb, patient, "botox", after=three_days)
    assert "microneedling-then-botox" in [p.code for p in blocked.value.problems]

    after = needling.end_at + timedelta(minutes=10)
    missed = record_outcome(sessions, kb, visit_id=needling.id, outcome=Outcome.NO_SHOW, actor="desk", now=after)
    assert (missed.visit.status, missed.unsafe) == (models.VisitStatus.NO_SHOW, ())
    botox = _book(sessions, kb, patient, "botox", after=three_days, now=after)
    assert botox.status is models.VisitStatus.BOOKED

    corrected = record_outcome(sessions, kb, visit_id=needling.id, outcome=Outcome.COMPLETED, actor="desk", now=after)
    assert (corrected.visit.status, corrected.was) == (models.VisitStatus.COMPLETED, models.VisitStatus.NO_SHOW)
    (unsafe,) = corrected.unsafe
    assert unsafe.code == "dependent-visit" and unsafe.kind == "soft"
    assert unsafe.message.startswith(f"Visit {botox.id} (botox on ")
    assert " now breaks microneedling-then-botox: " in unsafe.message
    with UnitOfWork(sessions) as uow:  # reported, not refused
        assert uow.session.get(models.Visit, botox.id).status is models.VisitStatus.BOOKED  # type: ignore[union-attr]
    assert [d["was"] for a, d in _audited(sessions, needling.id) if a != "visit.booked"] == ["booked", "no-show"]


def test_back_from_a_no_show_is_refused_when_its_time_was_booked_meanwhile(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    first = _book(sessions, kb, new_patient(), "botox")
    during = first.start_at + timedelta(minutes=1)
    record_outcome(sessions, kb, visit_id=first.id, outcome=Outcome.NO_SHOW, actor="desk", now=during)
    # The front desk fills the missed time with a walk-in, with the same practitioner, booked at once.
    walk_in = book(
        sessions,
        kb,
        patient_id=new_patient(name="Walk In"),
        treatment="botox",
        clinic_id=CLINIC,
        start=first.start_at + timedelta(minutes=15),
        practitioner_id=first.practitioner_id,
        actor="front-desk",
        now=during - timedelta(minutes=200),  # the clinic's notice counted from before, as a front desk would
    ).visit
    assert walk_in.practitioner_id == first.practitioner_id
    with pytest.raises(Refused) as refused:
        record_outcome(sessions, kb, visit_id=first.id, outcome=Outcome.COMPLETED, actor="desk", now=during)
    assert refused.value.problems[0].code.endswith("-busy")
    with UnitOfWork(sessions) as uow:
        assert uow.session.get(models.Visit, first.id).status is models.VisitStatus.NO_SHOW  # type: ignore[union-attr]
