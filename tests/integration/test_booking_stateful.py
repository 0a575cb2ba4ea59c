"""Books, moves and cancels at random on real SQLite and PostgreSQL, and checks after every step that the store
holds no double booking and no broken timing rule that a qualified practitioner did not override, and that a
refused change wrote nothing. Patients come from a small pool with random earlier treatments and factors;
visits are at the demo's Fraser Valley Skin Studio (clinic 1, Tue-Sat 09-17), on its 15-minute grid over two
weeks, sometimes with an override by physician 1 (qualified for everything) or aesthetician 7 (qualified for
skin and energy treatments, not injections)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Override, Refused, book, cancel, reschedule
from safewindow.services.patients import add_patient
from safewindow.store import models
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.invariants import assert_invariants

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
TODAY = NOW.astimezone(ZONE).date()
CLINIC = 1
POOL = 3
OFFERED = (
    "microneedling",
    "botox",
    "botox-touch-up",
    "dermal-filler",
    "chemical-peel-light",
    "ipl",
    "laser-nonablative",
)
OPEN_DAYS = [TODAY + timedelta(days=n) for n in range(1, 15) if (TODAY + timedelta(days=n)).weekday() in range(1, 6)]
QUARTERS = [time(9 + q // 4, 15 * (q % 4)) for q in range(32)]  # 09:00 to 16:45; some visits run past 17:00
# Who works at the studio on each weekday (Monday is 0), so most named practitioners are there; None lets
# the service choose.
WORKING = {1: (1, 4, 7), 2: (3, 4, 7), 3: (1, 4, 7), 4: (3, 4, 7), 5: (3, 4)}
# Factors that change what clinic 1 may do: lengthened waits, hard and soft blocks, warnings.
FACTORS = ("sensitive-skin", "pregnancy", "allergy-lidocaine", "recent-tan", "isotretinoin")
PHYSICIAN, AESTHETICIAN = 1, 7

starts = st.builds(
    lambda day, quarter: datetime.combine(day, quarter, ZONE).astimezone(UTC),
    st.sampled_from(OPEN_DAYS),
    st.sampled_from(QUARTERS),
)
# A start with a practitioner who works that day, or None.
bookings = starts.flatmap(
    lambda start: st.tuples(st.just(start), st.sampled_from([None, *WORKING[start.astimezone(ZONE).weekday()]]))
)
overrides = st.sampled_from(
    [None, Override("travelling; risks discussed", PHYSICIAN), Override("patient insists", AESTHETICIAN)]
)
earlier_treatments = st.lists(
    st.builds(
        lambda slug, days_ago: f"{slug}@{TODAY - timedelta(days=days_ago)}",
        st.sampled_from(OFFERED[:5]),
        st.integers(0, 120),
    ),
    max_size=3,
)
patients = st.tuples(earlier_treatments, st.lists(st.sampled_from(FACTORS), max_size=2, unique=True))


class BookingMachine(RuleBasedStateMachine):
    sessions: ClassVar[sessionmaker[Session]]
    demo_patients: ClassVar[int]  # ids up to these are the demo's, kept between examples
    demo_visits: ClassVar[int]
    visits = Bundle("visits")

    def __init__(self) -> None:
        super().__init__()
        with UnitOfWork(self.sessions, write=True) as uow:
            uow.session.execute(delete(models.Override))
            uow.session.execute(delete(models.Visit).where(models.Visit.id > self.demo_visits))
            uow.session.execute(delete(models.Patient).where(models.Patient.id > self.demo_patients))
            uow.commit()
        self.patients: list[int] = []

    def snapshot(self, visit_id: int | None = None) -> tuple[object, ...]:
        """Counts of what a change writes, and the visit it would change as it stands."""
        with UnitOfWork(self.sessions) as uow:
            session = uow.session
            counts = tuple(
                session.scalar(select(func.count()).select_from(model))
                for model in (models.Visit, models.Override, models.AuditEntry)
            )
            visit = session.get(models.Visit, visit_id) if visit_id is not None else None
            held = (visit.start_at, visit.end_at, visit.status, visit.room_id, visit.device_id) if visit else None
            return (*counts, held)

    @initialize(people=st.lists(patients, min_size=POOL, max_size=POOL))
    def add_patients(self, people: list[tuple[list[str], list[str]]]) -> None:
        for history, factors in people:
            patient = add_patient(
                self.sessions,
                KB,
                name="Pool Patient",
                birth_date="1985-05-05",
                actor="test",
                today=TODAY,
                history=history,
                factors=factors,
            )
            self.patients.append(patient.id)

    @rule(
        target=visits,
        who=st.integers(0, POOL - 1),
        treatment=st.sampled_from(OFFERED),
        when=bookings,
        override=overrides,
    )
    def book(self, who: int, treatment: str, when: tuple[datetime, int | None], override: Override | None) -> object:
        start, practitioner = when
        before = self.snapshot()
        try:
            booked = book(
                self.sessions,
                KB,
                patient_id=self.patients[who],
                treatment=treatment,
                clinic_id=CLINIC,
                start=start,
                actor="test",
                practitioner_id=practitioner,
                override=override,
                now=NOW,
            )
        except Refused:
            assert self.snapshot() == before, "a refused booking wrote something"
            return multiple()
        assert booked.visit.start_at == start
        assert override is not None or not booked.overridden
        return booked.visit.id

    @rule(visit=visits, start=starts, override=overrides)
    def move(self, visit: int, start: datetime, override: Override | None) -> None:
        before = self.snapshot(visit)
        try:
            moved = reschedule(self.sessions, KB, visit_id=visit, start=start, actor="test", override=override, now=NOW)
        except Refused:
            assert self.snapshot(visit) == before, "a refused move wrote something"
            return
        assert moved.visit.start_at == start
        assert override is not None or not moved.overridden

    @rule(target=visits, visit=consumes(visits))
    def cancel(self, visit: int) -> object:
        before = self.snapshot(visit)
        try:
            cancelled = cancel(self.sessions, KB, visit_id=visit, actor="test", now=NOW)
        except Refused:
            assert self.snapshot(visit) == before, "a refused cancellation wrote something"
            return visit
        assert cancelled.status is models.VisitStatus.CANCELLED
        return multiple()  # a cancelled visit is not moved again

    @invariant()
    def store_is_safe(self) -> None:
        assert_invariants(self.sessions, KB, TODAY)


def load_demo_into(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    """The demo, and the last of its patient and visit ids."""
    with UnitOfWork(session_factory, write=True) as uow:
        load_demo(uow.session)
        uow.commit()
        last_patient = uow.session.scalar(select(func.max(models.Patient.id))) or 0
        last_visit = uow.session.scalar(select(func.max(models.Visit.id))) or 0
    return last_patient, last_visit


def test_random_bookings_moves_and_cancellations_keep_the_store_safe(session_factory: sessionmaker[Session]) -> None:
    last_demo_patient, last_demo_visit = load_demo_into(session_factory)

    class Machine(BookingMachine):
        sessions = session_factory
        demo_patients = last_demo_patient
        demo_visits = last_demo_visit

    run_state_machine_as_test(Machine, settings=settings(max_examples=15, stateful_step_count=12, deadline=None))


def test_cancelling_a_botox_does_not_leave_its_touch_up_past_the_limit(session_factory: sessionmaker[Session]) -> None:
    """A sequence the machine could take over a longer window, pinned."""
    load_demo_into(session_factory)
    patient = add_patient(
        session_factory,
        KB,
        name="Pool Patient",
        birth_date="1985-05-05",
        actor="test",
        today=TODAY,
        history=["botox@2026-08-20", "botox-touch-up@2026-09-03"],
    ).id

    def booking(treatment: str, day: str) -> int:
        start = datetime.combine(date.fromisoformat(day), time(10), ZONE).astimezone(UTC)
        return book(
            session_factory,
            KB,
            patient_id=patient,
            treatment=treatment,
            clinic_id=CLINIC,
            start=start,
            actor="test",
            practitioner_id=PHYSICIAN,
            now=NOW,
        ).visit.id

    botox = booking("botox", "2026-11-26")
    booking("botox-touch-up", "2026-12-10")
    assert_invariants(session_factory, KB, TODAY)
    # The cancellation is refused while the touch-up stands, and says which visit depends on it.
    with pytest.raises(Refused) as refused:
        cancel(session_factory, KB, visit_id=botox, actor="test", now=NOW)
    assert [p.code for p in refused.value.problems] == ["dependent-visit"]
    assert_invariants(session_factory, KB, TODAY)
