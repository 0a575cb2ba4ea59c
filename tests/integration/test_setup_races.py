"""A clinic's setup changing while a booking there waits for the clinic's lock, on real PostgreSQL: the
booking, once the change commits, must be checked against the setup as changed, not the copy it kept.

And the other way round: an administrator's change waiting behind a booking must see the booked visit it
would strand. The same for a practitioner's time off, whose lock is the practitioner's row (a booking at any
clinic where they work takes it). SQLite runs one write transaction at a time, so there neither can begin
while the other is open; the interleavings exist on PostgreSQL only. The transaction held open is written by
hand, taking the rows the real use case takes first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.domain.intervals import Interval
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.admin import add_closure, hold_clinic, hold_practitioner
from safewindow.services.booking import Refused, book
from safewindow.services.clinic_view import lock_and_load
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW, _empty_postgres
from tests.integration.test_time_off import BRAR, MILL_LAKE, botox, give, time_off_of, whole_days
from tests.integration.test_time_off import local as local_at

ZONE = clinic_zone("America/Vancouver")
CLINIC = 1  # Fraser Valley Skin Studio, Tue-Sat 09-17; its physician (1) works Tuesdays
TUESDAY = date(2026, 12, 1)
WAIT = 20.0  # seconds, at most, for the booking to queue behind the change's lock


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only, emptied: this module's interleavings cannot happen on SQLite."""
    _empty_postgres(postgres_url)
    return postgres_url


def _wait_until_blocked(engine: Engine) -> None:
    """Until another connection waits for a row lock (the one behind the open transaction)."""
    deadline = time.monotonic() + WAIT
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            connection.rollback()
            time.sleep(0.02)
    raise AssertionError("nothing waited for the clinic's lock")


def _behind(engine: Engine, held: UnitOfWork, run: Callable[[], object]) -> object:
    """What `run` comes to, on a thread, when it starts while `held` keeps its locks: `held` commits once `run`
    waits for them. Its return value or the exception it raised, whichever: the test judges it."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(run())
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    try:
        _wait_until_blocked(engine)
    finally:
        held.commit()
    thread.join(WAIT)
    assert len(outcome) == 1
    return outcome[0]


def _visit_by_hand(patient: int, clinic: int, practitioner: int, start: datetime) -> models.Visit:
    """A booked botox visit, as a booking inserts it once its checks pass."""
    end = start + timedelta(minutes=30)
    return models.Visit(
        patient_id=patient,
        clinic_id=clinic,
        treatment_slug="botox",
        practitioner_id=practitioner,
        start_at=start,
        end_at=end,
        held_from=start,
        held_until=end,
        status=models.VisitStatus.BOOKED,
        created_by="t",
    )


def test_a_booking_behind_a_closure_sees_the_closure(
    engine: Engine, sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    kb = default_knowledge_base()
    start = datetime.combine(TUESDAY, clock(10), ZONE)

    def book_it() -> object:
        return book(
            sessions, kb, patient_id=patient, treatment="botox", clinic_id=CLINIC, start=start, actor="t", now=NOW
        )

    # The booking's process has this clinic's setup as it was: read ahead by an earlier booking.
    earlier = book(
        sessions, kb, patient_id=new_patient(), treatment="botox", clinic_id=CLINIC, start=start, actor="t", now=NOW
    )
    with UnitOfWork(sessions, write=True) as uow:  # free the time again: only the closure is in the way
        visit = uow.session.get_one(models.Visit, earlier.visit.id)
        visit.status = models.VisitStatus.CANCELLED
        uow.commit()

    with UnitOfWork(sessions, write=True) as uow:
        hold_clinic(uow.session, CLINIC)
        uow.session.add(models.ClinicClosure(clinic_id=CLINIC, first_day=TUESDAY, last_day=TUESDAY, reason="Flood"))
        uow.session.flush()
        outcome = _behind(engine, uow, book_it)

    assert isinstance(outcome, Refused), f"booked on a day the clinic closed: {outcome!r}"
    assert [p.code for p in outcome.problems] == ["clinic-closed-day"]
    with UnitOfWork(sessions) as uow:
        active = select(models.Visit.id).where(models.Visit.patient_id == patient)
        assert uow.session.scalars(active).all() == []


def test_a_closure_behind_a_booking_sees_the_visit(
    engine: Engine, sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    start = datetime.combine(TUESDAY, clock(10), ZONE)

    def close_it() -> object:
        return add_closure(
            sessions, clinic_id=CLINIC, first_day=TUESDAY, last_day=TUESDAY, reason="Flood", actor="t", now=NOW
        )

    with UnitOfWork(sessions, write=True) as uow:  # a booking between its locks and its commit
        lock_and_load(uow.session, CLINIC, Interval(start - timedelta(days=1), start + timedelta(days=1)))
        uow.session.add(_visit_by_hand(patient, CLINIC, 1, start))
        uow.session.flush()
        outcome = _behind(engine, uow, close_it)

    assert isinstance(outcome, Refused), f"closed over a booked visit: {outcome!r}"
    assert [p.code for p in outcome.problems] == ["visit-in-closure"]
    with UnitOfWork(sessions) as uow:
        closures = select(models.ClinicClosure.id).where(models.ClinicClosure.first_day == TUESDAY)
        assert uow.session.scalars(closures).all() == []


def test_time_off_behind_a_booking_at_another_clinic_sees_the_visit(
    engine: Engine, sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    start = local_at(date(2026, 12, 2))  # a Wednesday: Dr. Brar at Mill Lake

    def time_off() -> object:
        return give(sessions, date(2026, 12, 2), date(2026, 12, 2))

    with UnitOfWork(sessions, write=True) as uow:  # a booking at Mill Lake between its locks and its commit
        hold_clinic(uow.session, MILL_LAKE)
        hold_practitioner(uow.session, BRAR)
        visit = _visit_by_hand(patient, MILL_LAKE, BRAR, start)
        uow.session.add(visit)
        uow.session.flush()
        outcome = _behind(engine, uow, time_off)

    assert isinstance(outcome, Refused), f"time off over a booked visit: {outcome!r}"
    assert [p.message.split(" at ")[0] for p in outcome.problems] == [f"Visit {visit.id}"]
    assert time_off_of(sessions, BRAR) == []


def test_a_booking_behind_time_off_sees_it(
    engine: Engine, sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    kb = default_knowledge_base()
    patient = new_patient()
    # The booking's process has Mill Lake's setup already, as it was before the time off.
    earlier = botox(sessions, kb, new_patient(), MILL_LAKE, date(2026, 12, 9))
    assert earlier.visit.id

    with UnitOfWork(sessions, write=True) as uow:  # a change of time off between its lock and its commit
        hold_practitioner(uow.session, BRAR)
        start, end = whole_days(date(2026, 12, 2), date(2026, 12, 2))
        uow.session.add(models.TimeOff(practitioner_id=BRAR, start_at=start, end_at=end, reason="Sick"))
        uow.session.flush()
        outcome = _behind(engine, uow, lambda: botox(sessions, kb, patient, MILL_LAKE, date(2026, 12, 2)))

    assert isinstance(outcome, Refused), f"booked during the time off: {outcome!r}"
    assert [p.code for p in outcome.problems] == ["practitioner-off"]
