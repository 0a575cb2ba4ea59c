"""Booking on real SQLite and PostgreSQL: every refusal, overrides, moves, cancellations, and races.
Times are local Abbotsford times; the demo's Fraser Valley Skin Studio (clinic 1) opens Tue-Sat 09-17."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Override, Refused, book, cancel, reschedule
from safewindow.services.errors import InputError, NotFound
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
CLINIC = 1


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def count(sessions: sessionmaker[Session], model: type[models.Base]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def booking(sessions: sessionmaker[Session], patient: int, treatment: str, at: str, **extra: object) -> models.Visit:
    return book(
        sessions,
        KB,
        patient_id=patient,
        treatment=treatment,
        clinic_id=CLINIC,
        start=local(at),
        actor="test",
        now=NOW,
        **extra,
    ).visit  # type: ignore[arg-type]


def refusal_codes(error: pytest.ExceptionInfo[Refused]) -> set[str]:
    return {p.code for p in error.value.problems}


def test_a_safe_booking_is_stored_in_utc_and_audited(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient("microneedling@2026-11-10")
    visit = booking(sessions, patient, "botox", "2026-12-01T10:00")
    assert visit.start_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    with UnitOfWork(sessions) as uow:
        stored = uow.session.get(models.Visit, visit.id)
        assert stored is not None and stored.status is models.VisitStatus.BOOKED
        audit = uow.session.scalars(select(models.AuditEntry).where(models.AuditEntry.entity_id == str(visit.id)))
        assert [a.action for a in audit] == ["visit.booked"]


def test_too_soon_after_microneedling_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient("microneedling@2026-11-20")
    before = count(sessions, models.Visit), count(sessions, models.AuditEntry)
    with pytest.raises(Refused) as error:
        booking(sessions, patient, "botox", "2026-11-27T10:00")
    assert refusal_codes(error) == {"microneedling-then-botox"}
    assert "wait until 2026-12-04" in error.value.problems[0].message
    assert (count(sessions, models.Visit), count(sessions, models.AuditEntry)) == before


def test_a_visit_booked_later_constrains_an_earlier_booking(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    booking(sessions, patient, "microneedling", "2026-12-10T10:00")
    with pytest.raises(Refused) as error:
        booking(sessions, patient, "botox", "2026-12-01T10:00")
    assert refusal_codes(error) == {"botox-then-microneedling"}
    booking(sessions, patient, "botox", "2026-11-26T10:00")  # exactly 14 days before: allowed


def test_only_a_qualified_practitioner_may_override_a_soft_rule(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient("microneedling@2026-11-20")
    aesthetician, physician = 7, 1
    with pytest.raises(Refused) as error:
        booking(sessions, patient, "botox", "2026-11-27T10:00", override=Override("travelling", aesthetician))
    assert "override-not-qualified" in refusal_codes(error)
    with pytest.raises(InputError, match="override_reason"):
        booking(sessions, patient, "botox", "2026-11-27T10:00", override=Override("  ", physician))
    visit = booking(
        sessions,
        patient,
        "botox",
        "2026-11-27T10:00",
        override=Override("travelling abroad; risks discussed", physician),
    )
    with UnitOfWork(sessions) as uow:
        overrides = list(uow.session.scalars(select(models.Override).where(models.Override.visit_id == visit.id)))
        assert [(o.rule_id, o.practitioner_id) for o in overrides] == [("microneedling-then-botox", physician)]
        audit = uow.session.scalars(select(models.AuditEntry).where(models.AuditEntry.entity_id == str(visit.id)))
        assert next(iter(audit)).detail["overrides"] == ["microneedling-then-botox"]


def test_a_hard_rule_has_no_override(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    patient = new_patient("botox@2026-11-10")
    with pytest.raises(Refused) as error:
        booking(sessions, patient, "botox", "2026-12-01T10:00", override=Override("patient insists", 1))
    assert refusal_codes(error) == {"botox-repeat", "hard-rule"}
    pregnant = new_patient(factors=("pregnancy",))
    with pytest.raises(Refused) as error:
        booking(sessions, pregnant, "botox", "2026-12-01T10:00", override=Override("patient insists", 1))
    assert "pregnancy" in refusal_codes(error)


@pytest.mark.parametrize(
    ("at", "code"),
    [
        ("2026-12-25T10:00", "clinic-closed-day"),  # Christmas, and the winter break
        ("2026-11-30T10:00", "outside-opening-hours"),  # a Monday: the studio is closed
        ("2026-12-01T16:45", "outside-opening-hours"),  # a 30-minute visit would end after 17:00
        ("2026-11-25T09:30", "too-soon"),  # within the 2 hours' notice
        ("2027-03-30T10:00", "beyond-horizon"),
    ],
)
def test_closed_times_are_refused(
    sessions: sessionmaker[Session], new_patient: Callable[..., int], at: str, code: str
) -> None:
    with pytest.raises(Refused) as error:
        booking(sessions, new_patient(), "botox", at)
    assert code in refusal_codes(error)


def test_no_double_booking_of_a_practitioner_or_a_patient(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    first, second = new_patient(), new_patient()
    booking(sessions, first, "botox", "2026-12-01T10:00", practitioner_id=1)
    with pytest.raises(Refused) as error:
        booking(sessions, second, "botox", "2026-12-01T10:15", practitioner_id=1)
    assert "practitioner-busy" in refusal_codes(error)
    with pytest.raises(Refused) as error:
        booking(sessions, first, "dermal-filler", "2026-12-01T10:15", practitioner_id=3)
    assert "patient-busy" in refusal_codes(error)


def test_buffers_keep_visits_apart_whichever_is_booked_first(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    # Clinic 1: botox 30 minutes, 5 before and 10 after; filler 45 minutes, 10 before and 15 after.
    botox = booking(sessions, new_patient(), "botox", "2026-12-01T10:00", practitioner_id=1)
    assert (botox.held_from, botox.held_until) == (local("2026-12-01T09:55"), local("2026-12-01T10:40"))
    with pytest.raises(Refused) as error:  # its set-up from 10:35 meets the botox's clean-up until 10:40
        booking(sessions, new_patient(), "dermal-filler", "2026-12-01T10:45", practitioner_id=1)
    assert refusal_codes(error) == {"practitioner-buffer"}
    booking(sessions, new_patient(), "dermal-filler", "2026-12-01T11:00", practitioner_id=1)

    filler = booking(sessions, new_patient(), "dermal-filler", "2026-12-08T10:45", practitioner_id=1)
    with pytest.raises(Refused) as error:  # the other order, the same answer
        booking(sessions, new_patient(), "botox", "2026-12-08T10:00", practitioner_id=1)
    assert refusal_codes(error) == {"practitioner-buffer"}
    moved = reschedule(sessions, KB, visit_id=filler.id, start=local("2026-12-08T11:00"), actor="test", now=NOW)
    assert (moved.visit.held_from, moved.visit.held_until) == (local("2026-12-08T10:50"), local("2026-12-08T12:00"))
    booking(sessions, new_patient(), "botox", "2026-12-08T10:00", practitioner_id=1)


def test_unknown_things_are_named(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    with pytest.raises(NotFound, match="no patient 999"):
        booking(sessions, 999, "botox", "2026-12-01T10:00")
    with pytest.raises(InputError, match="did you mean botox"):
        booking(sessions, new_patient(), "botx", "2026-12-01T10:00")
    with pytest.raises(InputError, match="does not offer 'kybella'"):
        booking(sessions, new_patient(), "kybella", "2026-12-01T10:00")


def test_moving_microneedling_a_week_later_is_refused_while_the_botox_would_be_too_soon(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    needling = booking(sessions, patient, "microneedling", "2026-12-01T10:00")
    botox = booking(sessions, patient, "botox", "2026-12-16T10:00")
    with pytest.raises(Refused) as error:
        reschedule(sessions, KB, visit_id=needling.id, start=local("2026-12-08T10:00"), actor="test", now=NOW)
    assert {"microneedling-then-botox", "dependent-visit"} <= refusal_codes(error)
    assert any(f"Visit {botox.id}" in p.message for p in error.value.problems)
    with UnitOfWork(sessions) as uow:  # nothing moved
        stored = uow.session.get(models.Visit, needling.id)
        assert stored is not None and stored.start_at == local("2026-12-01T10:00")
    moved = reschedule(sessions, KB, visit_id=needling.id, start=local("2026-12-01T14:00"), actor="test", now=NOW)
    assert moved.visit.start_at == local("2026-12-01T14:00")


def test_cancel(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    visit = booking(sessions, new_patient(), "botox", "2026-12-01T10:00")
    assert cancel(sessions, KB, visit_id=visit.id, actor="test", now=NOW).status is models.VisitStatus.CANCELLED
    with pytest.raises(Refused) as error:
        cancel(sessions, KB, visit_id=visit.id, actor="test", now=NOW)
    assert refusal_codes(error) == {"visit-not-booked"}
    # The time is free again.
    booking(sessions, new_patient(), "botox", "2026-12-01T10:00", practitioner_id=visit.practitioner_id)


def test_racing_bookings_of_one_slot_book_exactly_one(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patients = [new_patient() for _ in range(8)]
    barrier = threading.Barrier(len(patients))
    outcomes: list[str] = []

    def attempt(patient: int) -> None:
        barrier.wait()
        try:
            booking(sessions, patient, "botox", "2026-12-03T10:00", practitioner_id=1)
            outcomes.append("booked")
        except Refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["refused"] * 7


def test_racing_unsafe_sequences_for_one_patient_book_at_most_one(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    wanted = [("microneedling", "2026-12-08T10:00", 7), ("botox", "2026-12-03T10:00", 1)]
    barrier = threading.Barrier(len(wanted))
    outcomes: list[str] = []

    def attempt(treatment: str, at: str, practitioner: int) -> None:
        barrier.wait()
        try:
            booking(sessions, patient, treatment, at, practitioner_id=practitioner)
            outcomes.append("booked")
        except Refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=w) for w in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "refused"]
