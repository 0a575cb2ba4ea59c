"""The clinic's notice for changes made online, on real SQLite and PostgreSQL: a patient may cancel or move their
visit themselves until that long before it, then is told to call the clinic (its number in the refusal) and
nothing is written; the clinic's staff may still change it, and the audit log marks the change late. Notice is
elapsed time, so it holds across a change of clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Refused, book, cancel, reschedule
from safewindow.services.offers import Policy, set_booking_policy
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

CLINIC = 1  # Fraser Valley Skin Studio, 604-555-0100: Tuesday to Saturday, 09:00-17:00
DAY = 24 * 60
ZONE = clinic_zone("America/Vancouver")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _notice(sessions: sessionmaker[Session], minutes: int) -> None:
    set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(120, 200, 15, minutes), actor="admin")


def _booked(
    sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, first_day: date | None = None, at: int = 0
) -> models.Visit:
    """The patient's botox visit at the clinic's first free time (from `first_day`, from `at` o'clock), booked
    at NOW."""
    found = find_slots_for(
        sessions, kb, treatment="botox", clinic_id=CLINIC, first_day=first_day, days=1, limit=40, now=NOW
    )
    offered = next(s.slot for s in found if s.slot.start.astimezone(ZONE).hour >= at)
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=offered.start,
        practitioner_id=int(offered.practitioner_id),
        actor="front-desk",
        now=NOW,
    ).visit


def _free(sessions: sessionmaker[Session], kb: KnowledgeBase, practitioner: int, first_day: date) -> datetime:
    """The practitioner's first free botox time from `first_day`."""
    found = find_slots_for(
        sessions, kb, treatment="botox", clinic_id=CLINIC, practitioner_id=practitioner, first_day=first_day, now=NOW
    )
    return found[0].slot.start


def _state(sessions: sessionmaker[Session], visit_id: int) -> tuple[models.VisitStatus, datetime, list[dict]]:
    with UnitOfWork(sessions) as uow:
        visit = uow.session.get(models.Visit, visit_id)
        assert visit is not None
        audited = uow.session.scalars(
            select(models.AuditEntry.detail)
            .where(models.AuditEntry.entity == "visit", models.AuditEntry.entity_id == str(visit_id))
            .order_by(models.AuditEntry.id)
        )
        return visit.status, visit.start_at, list(audited)


def test_a_patient_inside_the_notice_is_told_to_call_and_nothing_changes(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    _notice(sessions, DAY)
    visit = _booked(sessions, kb, new_patient())  # this morning: inside 24 hours
    was = _state(sessions, visit.id)
    later = _free(sessions, kb, visit.practitioner_id, date(2026, 12, 2))
    for change in (
        lambda: cancel(sessions, kb, visit_id=visit.id, actor="patient:1", now=NOW, by_patient=True),
        lambda: reschedule(sessions, kb, visit_id=visit.id, start=later, actor="patient:1", now=NOW, by_patient=True),
    ):
        with pytest.raises(Refused) as refused:
            change()
        (problem,) = refused.value.problems
        assert problem.code == "change-notice"
        assert problem.message == (
            "At Fraser Valley Skin Studio, a visit can be cancelled or moved online until 24 hours before it "
            f"begins, and this one is on {visit.start_at.astimezone(ZONE).strftime('%a %-d %b at %H:%M')}. "
            "To change it now, please call Fraser Valley Skin Studio at 604-555-0100."
        )
        assert _state(sessions, visit.id) == was


def test_staff_may_still_change_it_and_the_audit_log_marks_it_late(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    _notice(sessions, DAY)
    moved = _booked(sessions, kb, new_patient())
    start = _free(sessions, kb, moved.practitioner_id, date(2026, 11, 27))
    assert reschedule(sessions, kb, visit_id=moved.id, start=start, actor="front-desk", now=NOW).visit.start_at == start
    cancelled = _booked(sessions, kb, new_patient(name="Third Patient"))
    assert cancel(sessions, kb, visit_id=cancelled.id, actor="front-desk", now=NOW).status.value == "cancelled"
    assert _state(sessions, moved.id)[2][-1]["late"] is True
    assert _state(sessions, cancelled.id)[2][-1]["late"] is True
    on_time = _booked(sessions, kb, new_patient(name="Fourth Patient"), first_day=date(2026, 12, 2))
    cancel(sessions, kb, visit_id=on_time.id, actor="front-desk", now=NOW)
    assert "late" not in _state(sessions, on_time.id)[2][-1]


def test_the_notice_ends_to_the_second(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    _notice(sessions, 2 * DAY)
    visit = _booked(sessions, kb, new_patient(), first_day=date(2026, 12, 4))
    closes = visit.start_at - timedelta(days=2)
    with pytest.raises(Refused):
        cancel(sessions, kb, visit_id=visit.id, actor="patient", now=closes, by_patient=True)
    cancelled = cancel(
        sessions, kb, visit_id=visit.id, actor="patient", now=closes - timedelta(seconds=1), by_patient=True
    )
    assert cancelled.status is models.VisitStatus.CANCELLED
    assert "late" not in _state(sessions, visit.id)[2][-1]


def test_the_notice_is_elapsed_hours_across_the_spring_change_of_clock(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    """Clocks go forward on Sunday 14 March 2027: 72 hours before Tuesday 16 March at 10:00 PDT is Saturday
    13 March at 09:00 PST, not 10:00."""
    _notice(sessions, 3 * DAY)
    visit = _booked(sessions, kb, new_patient(), first_day=date(2027, 3, 16), at=10)
    local = visit.start_at.astimezone(ZONE)
    assert (local.date(), local.hour, local.minute) == (date(2027, 3, 16), 10, 0)
    saturday_9 = datetime(2027, 3, 13, 17, 0, tzinfo=UTC)  # 09:00 PST
    later = _free(sessions, kb, visit.practitioner_id, date(2027, 3, 17))
    with pytest.raises(Refused):
        reschedule(
            sessions,
            kb,
            visit_id=visit.id,
            start=later,
            actor="patient",
            now=saturday_9,
            by_patient=True,
        )
    moved = reschedule(
        sessions,
        kb,
        visit_id=visit.id,
        start=later,
        actor="patient",
        now=saturday_9 - timedelta(minutes=1),
        by_patient=True,
    )
    assert moved.visit.start_at == later


def test_without_a_notice_a_patient_may_change_a_visit_until_it_begins(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    _notice(sessions, 0)
    visit = _booked(sessions, kb, new_patient())
    soon = visit.start_at - timedelta(minutes=1)
    assert cancel(sessions, kb, visit_id=visit.id, actor="p", now=soon, by_patient=True).status.value == "cancelled"
    assert "late" not in _state(sessions, visit.id)[2][-1]
