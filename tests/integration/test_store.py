"""The store on real databases: UTC instants, overlaps the database refuses, the append-only audit log,
the unit of work, and the demo data."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from safewindow.clock import clinic_zone
from safewindow.store import migrate
from safewindow.store.conflicts import overlapping_resource
from safewindow.store.database import StoreSettings, make_engine, make_session_factory
from safewindow.store.demo import DEMO_DATA, DemoDataError, load_demo, read_demo_data
from safewindow.store.models import (
    AuditEntry,
    Base,
    Clinic,
    Device,
    Grant,
    Patient,
    Practitioner,
    Room,
    Visit,
    VisitStatus,
)
from safewindow.store.unit_of_work import UnitOfWork

VANCOUVER = clinic_zone("America/Vancouver")
MakeUnit = Callable[..., UnitOfWork]


@dataclass(frozen=True)
class World:
    clinic: int
    room: int
    device: int
    ann: int
    ben: int
    pat: int
    quinn: int


@pytest.fixture
def world(uow: MakeUnit) -> World:
    with uow(write=True) as unit:
        clinic = Clinic(slug="test-clinic", name="Test Clinic", address="1 Test Road, Abbotsford, BC")
        room = Room(clinic=clinic, name="Room 1", kind="treatment")
        device = Device(clinic=clinic, name="Laser", kind="laser")
        ann = Practitioner(name="Ann", email="ann@test.example")
        ben = Practitioner(name="Ben", email="ben@test.example")
        pat = Patient(name="Pat", birth_date=date(1990, 1, 1), email="pat@test.example")
        quinn = Patient(name="Quinn", birth_date=date(1985, 6, 1), email="quinn@test.example")
        unit.session.add_all([clinic, room, device, ann, ben, pat, quinn])
        unit.commit()
        return World(clinic.id, room.id, device.id, ann.id, ben.id, pat.id, quinn.id)


def at(hour: int, minute: int = 0, day: date = date(2026, 12, 1)) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VANCOUVER)


def visit(
    world: World,
    start: datetime,
    *,
    minutes: int = 30,
    practitioner: int | None = None,
    patient: int | None = None,
    room: int | None = None,
    device: int | None = None,
    status: VisitStatus = VisitStatus.BOOKED,
    before: int = 0,
    after: int = 0,
) -> Visit:
    return Visit(
        patient_id=patient or world.pat,
        clinic_id=world.clinic,
        treatment_slug="botox",
        practitioner_id=practitioner or world.ann,
        room_id=room,
        device_id=device,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        held_from=start - timedelta(minutes=before),
        held_until=start + timedelta(minutes=minutes + after),
        status=status,
        created_by="test",
    )


def book(uow: MakeUnit, new: Visit) -> int:
    with uow(write=True) as unit:
        unit.session.add(new)
        unit.commit()
        return new.id


# --- instants ---------------------------------------------------------------------------------------------


def test_ten_in_abbotsford_on_1_december_2026_is_stored_and_read_back_as_17_utc(
    uow: MakeUnit, world: World, engine: Engine
) -> None:
    visit_id = book(uow, visit(world, at(10)))

    with uow() as unit:
        stored = unit.session.get_one(Visit, visit_id)
        assert stored.start_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
        assert stored.start_at.tzinfo is UTC
        assert stored.start_at.astimezone(VANCOUVER).hour == 10
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            raw = connection.exec_driver_sql("SELECT start_at FROM visits").scalar_one()
            assert raw == "2026-12-01 17:00:00.000000"
        else:
            raw = connection.exec_driver_sql(
                "SELECT to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM visits"
            ).scalar_one()
            assert raw == "2026-12-01 17:00"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_instants_do_not_depend_on_the_postgres_session_time_zone(
    uow: MakeUnit, world: World, migrated_url: str
) -> None:
    visit_id = book(uow, visit(world, at(10)))
    local = make_engine(migrated_url, connect_args={"options": "-c timezone=America/Vancouver"})
    try:
        with make_session_factory(local)() as session:
            assert session.get_one(Visit, visit_id).start_at == datetime(2026, 12, 1, 17, tzinfo=UTC)
    finally:
        local.dispose()


def test_a_naive_instant_is_refused_rather_than_guessed(uow: MakeUnit, world: World) -> None:
    naive = visit(world, at(10))
    naive.start_at = datetime(2026, 12, 1, 10, 0)
    with pytest.raises(StatementError, match="timezone-aware"), uow(write=True) as unit:
        unit.session.add(naive)
        unit.commit()


# --- overlaps ---------------------------------------------------------------------------------------------


def held(world: World, resource: str) -> tuple[str, int]:
    """The visits' column for `resource`, and the one two visits share in the tests below."""
    return {
        "practitioner": ("practitioner_id", world.ann),
        "room": ("room_id", world.room),
        "device": ("device_id", world.device),
        "patient": ("patient_id", world.pat),
    }[resource]


@pytest.mark.parametrize("resource", ["practitioner", "room", "device", "patient"])
def test_an_overlapping_active_visit_is_refused_by_the_database(uow: MakeUnit, world: World, resource: str) -> None:
    column, shared = held(world, resource)
    first = visit(world, at(10), practitioner=world.ann, patient=world.pat)
    second = visit(world, at(10, 15), practitioner=world.ben, patient=world.quinn)
    setattr(first, column, shared)
    setattr(second, column, shared)
    book(uow, first)

    with pytest.raises(IntegrityError) as refused:
        book(uow, second)
    assert overlapping_resource(refused.value) == resource


@pytest.mark.parametrize("resource", ["practitioner", "room", "device", "patient"])
def test_buffers_add_up_for_the_practitioner_room_and_device_but_not_the_patient(
    uow: MakeUnit, world: World, resource: str
) -> None:
    column, shared = held(world, resource)
    # 10:00-10:30 cleared away until 10:40; the next visit, set up from 10:30, begins at 10:35: no visit
    # overlaps another, but the clean-up and the set-up do.
    first = visit(world, at(10), practitioner=world.ann, patient=world.pat, after=10)
    second = visit(world, at(10, 35), practitioner=world.ben, patient=world.quinn, before=5)
    setattr(first, column, shared)
    setattr(second, column, shared)
    book(uow, first)

    if resource == "patient":
        book(uow, second)  # a patient is only taken by the visit itself
        return
    with pytest.raises(IntegrityError) as refused:
        book(uow, second)
    assert overlapping_resource(refused.value) == resource


@pytest.mark.parametrize("held", [(None, None), (at(10, 5), at(11))], ids=["missing", "not-containing-the-visit"])
def test_a_visit_must_hold_at_least_its_own_time(
    uow: MakeUnit, world: World, held: tuple[datetime | None, datetime | None]
) -> None:
    wrong = visit(world, at(10))
    wrong.held_from, wrong.held_until = held  # type: ignore[assignment]
    with pytest.raises(IntegrityError, match="held"):
        book(uow, wrong)


def test_a_cancelled_visit_frees_its_time(uow: MakeUnit, world: World) -> None:
    book(uow, visit(world, at(10), status=VisitStatus.CANCELLED))
    book(uow, visit(world, at(10, 15), patient=world.quinn))
    book(uow, visit(world, at(10, 20), patient=world.quinn, practitioner=world.ben, status=VisitStatus.NO_SHOW))

    with uow() as unit:
        assert unit.session.scalar(select(func.count()).select_from(Visit)) == 3


def test_back_to_back_visits_do_not_overlap(uow: MakeUnit, world: World) -> None:
    book(uow, visit(world, at(10), minutes=30))
    book(uow, visit(world, at(10, 30), minutes=30, patient=world.quinn))


def test_moving_or_reinstating_a_visit_onto_another_is_refused(uow: MakeUnit, world: World) -> None:
    book(uow, visit(world, at(10)))
    later = book(uow, visit(world, at(11), patient=world.quinn))
    cancelled = book(uow, visit(world, at(10), patient=world.quinn, status=VisitStatus.CANCELLED))

    with pytest.raises(IntegrityError), uow(write=True) as unit:
        moved = unit.session.get_one(Visit, later)
        moved.start_at, moved.end_at = at(10, 15), at(10, 45)
        unit.commit()
    with pytest.raises(IntegrityError), uow(write=True) as unit:
        unit.session.get_one(Visit, cancelled).status = VisitStatus.BOOKED
        unit.commit()


def test_two_bookings_racing_for_one_slot_leave_one_visit(uow: MakeUnit, world: World, engine: Engine) -> None:
    start = at(14)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(patient: int) -> None:
        barrier.wait()
        try:
            with uow(write=True) as unit:
                clash = unit.session.scalar(
                    select(Visit.id).where(
                        Visit.practitioner_id == world.ann,
                        Visit.start_at < start + timedelta(minutes=30),
                        Visit.end_at > start,
                    )
                )
                if clash is not None:
                    outcomes.append("taken")
                    return
                time.sleep(0.2)  # both would read a free slot here, were they not serialised
                unit.session.add(visit(world, start, patient=patient))
                unit.commit()
                outcomes.append("booked")
        except IntegrityError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(p,)) for p in (world.pat, world.quinn)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    if engine.dialect.name == "sqlite":
        # BEGIN IMMEDIATE: the second booking waits for the first, then reads the slot as taken.
        assert sorted(outcomes) == ["booked", "taken"]
    else:
        # The exclusion constraint is the last word; which way the loser learns it depends on timing.
        assert sorted(outcomes) in (["booked", "refused"], ["booked", "taken"])
    with uow() as unit:
        assert unit.session.scalar(select(func.count()).select_from(Visit)) == 1


# --- audit log --------------------------------------------------------------------------------------------


def test_audit_entries_can_be_added_but_never_changed_or_deleted(uow: MakeUnit, engine: Engine) -> None:
    with uow(write=True) as unit:
        unit.session.add(
            AuditEntry(
                actor="ann@test.example",
                action="visit.book",
                entity="visit",
                entity_id="1",
                detail={"channel": "front-desk"},
            )
        )
        unit.commit()

    statements = ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with pytest.raises(IntegrityError), uow(write=True) as unit:
        unit.session.scalars(select(AuditEntry)).one().action = "visit.cancel"
        unit.commit()

    with uow() as unit:
        entry = unit.session.scalars(select(AuditEntry)).one()
        assert (entry.actor, entry.action, entry.detail) == (
            "ann@test.example",
            "visit.book",
            {"channel": "front-desk"},
        )
        assert entry.at.tzinfo is UTC


# --- unit of work -----------------------------------------------------------------------------------------


def test_leaving_a_unit_without_commit_keeps_nothing(uow: MakeUnit) -> None:
    with uow(write=True) as unit:
        unit.session.add(Clinic(slug="draft", name="Draft", address="nowhere"))
        unit.session.flush()
    with uow() as unit:
        assert unit.session.scalars(select(Clinic)).all() == []


def test_a_visit_changed_meanwhile_cannot_be_saved_over(uow: MakeUnit, world: World) -> None:
    visit_id = book(uow, visit(world, at(10)))
    with uow() as unit:
        form_copy = unit.session.get_one(Visit, visit_id)  # what a form showed the user
    with uow(write=True) as unit:
        unit.session.get_one(Visit, visit_id).area = "neck"
        unit.commit()

    form_copy.area = "lips"
    with pytest.raises(StaleDataError), uow(write=True) as unit:
        unit.session.merge(form_copy)
        unit.commit()


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[tuple[Path, sessionmaker[Session]]]:
    path = tmp_path / "safewindow.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    yield path, make_session_factory(engine)
    engine.dispose()


def _can_take_write_lock(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


def test_a_sqlite_write_unit_takes_the_write_lock_before_its_first_read(
    sqlite_factory: tuple[Path, sessionmaker[Session]],
) -> None:
    path, factory = sqlite_factory
    with UnitOfWork(factory, write=True) as unit:
        unit.session.scalars(select(Clinic)).all()
        assert not _can_take_write_lock(path)
        unit.commit()
        unit.session.scalars(select(Clinic)).all()  # the next transaction of the unit begins IMMEDIATE too
        assert not _can_take_write_lock(path)
    with UnitOfWork(factory) as unit:
        unit.session.scalars(select(Clinic)).all()
        assert _can_take_write_lock(path)


def test_sqlite_runs_with_wal_a_busy_timeout_and_foreign_keys(
    sqlite_factory: tuple[Path, sessionmaker[Session]],
) -> None:
    _path, factory = sqlite_factory
    with factory() as session:
        pragmas = [
            session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
        assert pragmas == ["wal", 10000, 1]
    with pytest.raises(IntegrityError), UnitOfWork(factory, write=True) as unit:
        unit.session.add(Room(clinic_id=999, name="Orphan", kind="treatment"))
        unit.commit()


def test_the_default_database_is_a_sqlite_file_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SAFEWINDOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("SAFEWINDOW_DATA_DIR", str(tmp_path / "data"))
    assert StoreSettings().url() == f"sqlite:///{tmp_path / 'data' / 'safewindow.sqlite3'}"
    monkeypatch.setenv("SAFEWINDOW_DATABASE_URL", "postgresql+psycopg://clinic@db/safewindow")
    assert StoreSettings().url() == "postgresql+psycopg://clinic@db/safewindow"


# --- demo -------------------------------------------------------------------------------------------------


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def test_loading_the_demo_twice_changes_nothing(uow: MakeUnit, engine: Engine) -> None:
    with uow(write=True) as unit:
        first = load_demo(unit.session)
        unit.commit()
    after_first = _row_counts(engine)
    with uow(write=True) as unit:
        second = load_demo(unit.session)
        unit.commit()

    assert first.changed and not second.changed
    assert _row_counts(engine) == after_first
    assert after_first["clinics"] == 3 and after_first["practitioners"] == 8
    assert after_first["audit_log"] == 1


def test_the_demo_holds_the_seed_patient_and_who_may_inject(uow: MakeUnit) -> None:
    with uow(write=True) as unit:
        load_demo(unit.session)
        unit.commit()

    with uow() as unit:
        session = unit.session
        seed = session.scalars(
            select(Visit).join(Patient).where(Patient.name == "Simran Gill", Visit.treatment_slug == "microneedling")
        ).one()
        assert seed.start_at == datetime(2026, 11, 10, 17, 0, tzinfo=UTC)  # 10:00 in Abbotsford, UTC-7
        booked = session.scalars(select(Visit).where(Visit.status == VisitStatus.BOOKED)).one()
        assert booked.start_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
        assert session.scalars(select(Room).where(Room.kind == "laser")).first() is not None
        assert session.scalars(select(Device).where(Device.kind == "laser")).first() is not None
        qualifications = {q.id for p in session.scalars(select(Practitioner)) for q in p.qualifications}
        assert qualifications == {"physician", "nurse-practitioner", "registered-nurse", "aesthetician"}
        injectors = {
            (grant.qualification_id, grant.on_order_only)
            for grant in session.scalars(select(Grant).where(Grant.permission_id == "may-inject"))
        }
        assert injectors == {("physician", False), ("nurse-practitioner", False), ("registered-nurse", True)}


def test_a_demo_file_naming_an_unknown_treatment_is_refused(uow: MakeUnit, tmp_path: Path) -> None:
    broken = tmp_path / "demo_data.yaml"
    broken.write_text(DEMO_DATA.read_text(encoding="utf-8").replace("slug: dermaplaning", "slug: dermaplanning"))
    with pytest.raises(DemoDataError, match="'dermaplanning' is not a treatment"), uow(write=True) as unit:
        load_demo(unit.session, read_demo_data(broken))
