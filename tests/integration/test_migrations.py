"""The migrations build the schema the models describe, and take it down again, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Date, DateTime, column, func, insert, inspect, select, table

from safewindow.store import migrate
from safewindow.store.database import make_engine
from safewindow.store.models import Base, Visit

TABLES = set(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_upgrade_to_head_then_downgrade_to_base_and_up_again(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _tables(database_url) == TABLES
    assert _revision(database_url) == migrate.head_revision()

    migrate.downgrade(database_url, migrate.BASE)
    assert _tables(database_url) == set()
    assert _revision(database_url) is None

    migrate.upgrade(database_url)
    assert _tables(database_url) == TABLES


def test_upgrading_twice_changes_nothing(migrated_url: str) -> None:
    migrate.upgrade(migrated_url)
    assert _revision(migrated_url) == migrate.head_revision()


def test_the_migrated_schema_matches_the_models(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    if migrated_url.startswith("sqlite"):
        # SQLite cannot make an added column NOT NULL without rebuilding the table: its triggers refuse a NULL
        # held stretch instead (see the test below), so that is the one difference allowed.
        differences = [d for d in differences if not _held_nullable_on_sqlite(d)]
    assert differences == []


def _held_nullable_on_sqlite(difference: object) -> bool:
    match difference:
        case [("modify_nullable", _, "visits", "held_from" | "held_until", _, True, False)]:
            return True
    return False


def test_visits_booked_before_buffers_were_held_keep_their_own_time(database_url: str) -> None:
    """0010 gives visits already booked a held stretch of their own time (the rule they were booked under kept
    no buffers, and giving them some now could make two overlap), and taking it out keeps the visits."""
    migrate.upgrade(database_url, "0009")
    instant = DateTime(timezone=True)
    visits = table(
        "visits",
        *(column(c) for c in ("id", "patient_id", "clinic_id", "treatment_slug", "practitioner_id", "created_by")),
        *(column(c, instant) for c in ("start_at", "end_at", "created_at")),
    )
    start = datetime(2026, 12, 1, 17, tzinfo=UTC)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            clinic = connection.execute(
                insert(table("clinics", column("id"), column("slug"), column("name"), column("address")))
                .values(slug="c", name="C", address="Abbotsford")
                .returning(column("id"))
            ).scalar_one()
            patient = connection.execute(
                insert(
                    table(
                        "patients",
                        *(column(c) for c in ("id", "name", "email")),
                        column("birth_date", Date()),
                        column("created_at", instant),
                    )
                )
                .values(name="P", email="p@test.example", birth_date=date(1990, 1, 1), created_at=start)
                .returning(column("id"))
            ).scalar_one()
            practitioner = connection.execute(
                insert(table("practitioners", column("id"), column("name"), column("email")))
                .values(name="A", email="a@test.example")
                .returning(column("id"))
            ).scalar_one()
            for n in range(2):  # back to back: with any buffers they would overlap
                connection.execute(
                    insert(visits).values(
                        patient_id=patient,
                        clinic_id=clinic,
                        treatment_slug="botox",
                        practitioner_id=practitioner,
                        start_at=start + n * timedelta(minutes=30),
                        end_at=start + (n + 1) * timedelta(minutes=30),
                        created_at=start,
                        created_by="test",
                    )
                )
        migrate.upgrade(database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                select(Visit.start_at, Visit.end_at, Visit.held_from, Visit.held_until).order_by(Visit.start_at)
            ).all()
        assert [(held_from, held_until) for _, _, held_from, held_until in rows] == [(s, e) for s, e, _, _ in rows]
        assert len(rows) == 2

        migrate.downgrade(database_url, "0009")
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(visits)).scalar_one() == 2
    finally:
        engine.dispose()
