"""What a booking's reads and writes cost on PostgreSQL with no checks at all, for bench/booking.py: the ceiling
any booking that checks in Python between reading and writing could reach, set beside the raw insert rate.

- `unchecked`: the booking's own reads through the same services (lock the patient and read their record,
  lock the clinic and its staff, read the busy times around the visit), then its three writes (the visit, the
  audit entry, the change the worker mails from) as plain INSERTs: no advisor, no availability check.
- `fewest`: the same locks, reads and writes in the fewest round trips PostgreSQL allows: one call of a
  PL/pgSQL function that locks and reads (each of its statements sees what the locks' holders committed, as
  separate statements do), and one statement that writes all three rows. Bench only: it shows what a
  booking path written for PostgreSQL alone could gain, not code the app runs.

Visits go one per half hour from an epoch of their own, like the raw inserts, so none overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, create_engine, insert, text
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.intervals import Interval
from safewindow.services.clinic_view import load_patient, lock_and_load
from safewindow.store import models
from safewindow.store.outbox_models import VisitChange
from safewindow.store.unit_of_work import UnitOfWork

EPOCHS = {"unchecked": datetime(2036, 1, 1, tzinfo=UTC), "fewest": datetime(2041, 1, 1, tzinfo=UTC)}
AROUND = timedelta(days=1)  # as services.booking reads busy times
LENGTH = timedelta(minutes=30)

# The booking's reads, in its order and with its locks; rows tagged by part, unused columns NULL.
LOCK_AND_READ = """
CREATE FUNCTION bench_lock_and_read(p_patient int, p_clinic int, p_from timestamptz, p_until timestamptz)
RETURNS TABLE (part text, a int, b int, c int, since timestamptz, until timestamptz, slug text, zone text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM patients WHERE id = p_patient FOR UPDATE;
    RETURN QUERY SELECT 'visit', NULL::int, NULL::int, NULL::int, v.start_at, v.end_at, v.treatment_slug::text,
            cl.time_zone::text
        FROM visits v JOIN clinics cl ON cl.id = v.clinic_id
        WHERE v.patient_id = p_patient AND v.status IN ('booked', 'completed');
    RETURN QUERY SELECT 'elsewhere', NULL::int, NULL::int, NULL::int, NULL::timestamptz, NULL::timestamptz,
            p.treatment_slug::text, NULL::text
        FROM prior_treatments p WHERE p.patient_id = p_patient;
    RETURN QUERY SELECT 'factor', NULL::int, NULL::int, NULL::int, NULL::timestamptz, NULL::timestamptz,
            f.factor_id::text, NULL::text
        FROM patient_factors f WHERE f.patient_id = p_patient AND f.active;
    RETURN QUERY SELECT 'staff', c.id, p.id, cv.version::int, NULL::timestamptz, NULL::timestamptz,
            cv.instance::text, NULL::text
        FROM clinics c JOIN configuration_version cv ON cv.id = 1
        JOIN practitioners p ON p.id IN (SELECT practitioner_id FROM practitioner_hours WHERE clinic_id = p_clinic)
        WHERE c.id = p_clinic ORDER BY p.id FOR UPDATE OF c, p;
    RETURN QUERY SELECT 'held', v.practitioner_id, v.room_id, v.device_id, v.held_from, v.held_until,
            NULL::text, NULL::text
        FROM visits v
        WHERE v.status IN ('booked', 'completed') AND v.start_at < p_until AND v.end_at > p_from
        AND (v.clinic_id = p_clinic
             OR v.practitioner_id IN (SELECT practitioner_id FROM practitioner_hours WHERE clinic_id = p_clinic));
END $$
"""
WRITE_ALL = text("""
WITH visit AS (
    INSERT INTO visits (patient_id, clinic_id, treatment_slug, practitioner_id, room_id, start_at, end_at,
                        held_from, held_until, area, status, created_by, created_at, version)
    VALUES (:patient, :clinic, 'botox', :practitioner, :room, :start, :end, :start, :end, 'face', 'booked',
            'bench-fewest', now(), 1)
    RETURNING id, version
), audit AS (
    INSERT INTO audit_log (at, actor, action, entity, entity_id, detail)
    SELECT now(), 'bench-fewest', 'visit.booked', 'visit', visit.id::text, '{}'::json FROM visit
)
INSERT INTO visit_changes (visit_id, visit_version, event, happened_at)
SELECT visit.id, visit.version, 'booked', now() FROM visit
""")


class World(Protocol):
    """bench/booking.py's world: practitioners and rooms by clinic, then id, `per_clinic` of each a clinic."""

    @property
    def clinics(self) -> tuple[int, ...]: ...
    @property
    def practitioners(self) -> tuple[int, ...]: ...
    @property
    def rooms(self) -> tuple[int, ...]: ...
    @property
    def patients(self) -> tuple[int, ...]: ...


def install(url: str) -> None:
    """Create the function in the bench's scratch database."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(LOCK_AND_READ)
    finally:
        engine.dispose()


def visit_values(world: World, per_clinic: int, n: int, start: datetime) -> dict[str, Any]:
    """The n-th visit: a practitioner and room of its own clinic (locking another clinic's staff while taking a
    key lock on one of them would deadlock against that clinic's bookings)."""
    clinic = n % len(world.clinics)
    nth = per_clinic * clinic + n // len(world.clinics) % per_clinic
    return {
        "patient": world.patients[n % len(world.patients)],
        "clinic": world.clinics[clinic],
        "practitioner": world.practitioners[nth],
        "room": world.rooms[nth],
        "start": start,
        "end": start + LENGTH,
    }


def unchecked_one(sessions: sessionmaker[Session], world: World, per_clinic: int, n: int, start: datetime) -> None:
    visit = visit_values(world, per_clinic, n, start)
    with UnitOfWork(sessions, write=True) as uow:
        session = uow.session
        load_patient(session, visit["patient"], lock=True)
        lock_and_load(session, visit["clinic"], Interval(start - AROUND, start + AROUND))
        row = session.execute(
            insert(models.Visit).returning(models.Visit.id, models.Visit.version),
            {
                "patient_id": visit["patient"],
                "clinic_id": visit["clinic"],
                "treatment_slug": "botox",
                "practitioner_id": visit["practitioner"],
                "room_id": visit["room"],
                "start_at": start,
                "end_at": visit["end"],
                "held_from": start,
                "held_until": visit["end"],
                "status": models.VisitStatus.BOOKED,
                "created_by": "bench-unchecked",
            },
        ).one()
        entry = {"actor": "bench-unchecked", "action": "visit.booked", "entity": "visit", "entity_id": str(row.id)}
        session.execute(insert(cast(Table, models.AuditEntry.__table__)), entry | {"detail": {}})
        change = {"visit_id": row.id, "visit_version": row.version, "event": "booked", "happened_at": start}
        session.execute(insert(cast(Table, VisitChange.__table__)), change | {"was": None})
        uow.commit()


def fewest_one(sessions: sessionmaker[Session], world: World, per_clinic: int, n: int, start: datetime) -> None:
    visit = visit_values(world, per_clinic, n, start)
    read = {"patient": visit["patient"], "clinic": visit["clinic"], "since": start - AROUND, "until": start + AROUND}
    with UnitOfWork(sessions, write=True) as uow:
        session = uow.session
        session.execute(text("SELECT * FROM bench_lock_and_read(:patient, :clinic, :since, :until)"), read).all()
        session.execute(WRITE_ALL, visit)
        uow.commit()
