"""The clinic's setup kept in memory (services/clinic_setup.py) on real SQLite and PostgreSQL: every setup table
bumps the configuration version by trigger, a booking after any change (through a service or behind its back)
goes by the new setup, and two databases never share a kept setup."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import clinic_setup as clinic_setup_module
from safewindow.services.admin import add_closure
from safewindow.services.booking import Refused, book
from safewindow.services.clinic_setup import clinic_setup, current_version
from safewindow.store import migrate, models
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork

ZONE = ZoneInfo("America/Vancouver")
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # Wednesday 25 Nov 2026, 09:00 at the clinic
CLINIC = 1
MIGRATION = migrate.MIGRATIONS / "versions" / "0008_configuration_version.py"


def setup_tables() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("configuration_version_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    tables: tuple[str, ...] = migration.SETUP_TABLES
    return tables


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


def version(sessions: sessionmaker[Session]) -> int:
    with UnitOfWork(sessions) as uow:
        return current_version(uow.session).number


def test_every_setup_table_has_a_trigger_that_bumps_the_version(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found = connection.scalars(
                text("SELECT DISTINCT event_object_table FROM information_schema.triggers WHERE trigger_name LIKE :n"),
                {"n": "%_bump_configuration"},
            )
        else:
            found = connection.scalars(
                text("SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :n"),
                {"n": "%_bump_configuration_%"},
            )
        assert set(found) == set(setup_tables())
    # Every table the setup is read from is among them.
    read = {
        "clinics", "clinic_hours", "clinic_closures", "rooms", "devices", "clinic_treatments", "booking_policies",
        "practitioners", "practitioner_hours", "practitioner_time_off", "practitioner_qualifications",
        "qualifications", "qualification_permissions", "rule_adjustments", "webhook_endpoints",
    }  # fmt: skip
    assert read <= set(setup_tables())


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE clinic_treatments SET duration_minutes = duration_minutes + 15",
        "UPDATE booking_policies SET min_notice_minutes = 0",
        "DELETE FROM practitioner_qualifications WHERE practitioner_id = 1",
        "UPDATE qualification_permissions SET on_order_only = NOT on_order_only",
        "UPDATE rooms SET kind = kind",
    ],
)
def test_a_change_behind_the_services_back_bumps_the_version(
    sessions: sessionmaker[Session], engine: Engine, change: str
) -> None:
    before = version(sessions)
    with engine.begin() as connection:
        connection.exec_driver_sql(change)
    assert version(sessions) > before


def test_reading_and_booking_bump_nothing(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    kb = default_knowledge_base()
    patient = new_patient()
    before = version(sessions)
    book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=at(date(2026, 12, 1), 10),
        actor="test",
        now=NOW,
    )
    assert version(sessions) == before


def test_a_cold_process_reads_the_setup_before_it_takes_the_clinics_lock(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    """A process that keeps no setup of the clinic (just started) reads it before the lock, not while every
    other booking there waits; a warm one reads none of it."""
    statements: list[str] = []
    engine = sessions.kw["bind"]

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    kb = default_knowledge_base()
    clinic_setup_module._kept.clear()  # as a process that has just started
    event.listen(engine, "before_cursor_execute", record)
    try:
        for day in (1, 2):
            statements.clear()
            book(
                sessions, kb, patient_id=new_patient(), treatment="botox", clinic_id=CLINIC,
                start=at(date(2026, 12, day), 10), actor="test", now=NOW,
            )  # fmt: skip
            lock = next(n for n, s in enumerate(statements) if s.startswith("SELECT clinics.id, configuration_version"))
            setup_reads = [n for n, s in enumerate(statements) if "FROM clinic_hours" in s]
            if day == 1:
                assert setup_reads and max(setup_reads) < lock
            else:
                assert setup_reads == []
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_booking_goes_by_a_closure_added_after_its_setup_was_kept(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    kb = default_knowledge_base()
    first, second = new_patient(name="First"), new_patient(name="Second")
    tuesday = date(2026, 12, 1)
    book(sessions, kb, patient_id=first, treatment="botox", clinic_id=CLINIC, start=at(tuesday, 10), actor="t", now=NOW)
    # The setup is kept now. A closure the day after (one on the booked day would be refused: it strands a visit).
    wednesday = tuesday + timedelta(days=1)
    add_closure(
        sessions, clinic_id=CLINIC, first_day=wednesday, last_day=wednesday, reason="Training", actor="t", now=NOW
    )
    with pytest.raises(Refused) as refused:
        book(
            sessions,
            kb,
            patient_id=second,
            treatment="botox",
            clinic_id=CLINIC,
            start=at(wednesday, 10),
            actor="t",
            now=NOW,
        )
    assert "clinic-closed-day" in {p.code for p in refused.value.problems}


def test_a_booking_goes_by_hours_changed_with_plain_sql(
    sessions: sessionmaker[Session], engine: Engine, new_patient: Callable[..., int]
) -> None:
    kb = default_knowledge_base()
    tuesday = date(2026, 12, 1)
    book(sessions, kb, patient_id=new_patient(), treatment="botox", clinic_id=CLINIC, start=at(tuesday, 11),
         actor="t", now=NOW)  # fmt: skip
    with engine.begin() as connection:  # as a hand-written fix in production would: no service, no audit
        connection.exec_driver_sql(f"DELETE FROM clinic_hours WHERE clinic_id = {CLINIC} AND weekday = 2")
    with pytest.raises(Refused) as refused:
        book(
            sessions,
            kb,
            patient_id=new_patient(name="Later"),
            treatment="botox",
            clinic_id=CLINIC,
            start=at(tuesday + timedelta(days=1), 11),
            actor="t",
            now=NOW,
        )
    assert "outside-opening-hours" in {p.code for p in refused.value.problems}


def test_two_databases_never_share_a_kept_setup(tmp_path: Path) -> None:
    names = []
    for n, name in enumerate(("Clinic in the first database", "Clinic in the second database")):
        url = f"sqlite:///{tmp_path / f'{n}.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            sessions = make_session_factory(engine)
            with UnitOfWork(sessions, write=True) as uow:
                load_demo(uow.session)
                uow.commit()
            with engine.begin() as connection:
                # Same number of changes in both, so the version numbers match: only the instance tells them apart.
                connection.execute(text("UPDATE clinics SET name = :name WHERE id = 1"), {"name": name})
            with UnitOfWork(sessions) as uow:
                names.append((current_version(uow.session), clinic_setup(uow.session, 1).name))
        finally:
            engine.dispose()
    (first_version, first_name), (second_version, second_name) = names
    assert first_version.number == second_version.number
    assert first_version.instance != second_version.instance
    assert (first_name, second_name) == ("Clinic in the first database", "Clinic in the second database")


def test_the_setup_names_the_clinics_practitioners_and_treatments(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        setup = clinic_setup(uow.session, CLINIC)
        clinic = uow.session.get(models.Clinic, CLINIC)
        assert clinic is not None
        assert setup.name == clinic.name
        assert set(setup.offered) == {t.treatment_slug for t in clinic.treatments if t.active}
        assert setup.staff, "the demo clinic has staff"
        assert list(setup.staff_ids) == sorted(setup.staff_ids)
