"""A visit holds its practitioner, room and device for its buffers too: `held_from` and `held_until` record the
stretch, set-up and clean-up included, as the clinic's offer gave it when the visit was booked. Two active
visits of one practitioner, room or device may not hold overlapping stretches (one's clean-up and the next
one's set-up add up, whichever was booked first); the patient is only taken by the visit itself. The database
now refuses a broken buffer as it refuses an overlap: the exclusion constraints on PostgreSQL and the triggers
on SQLite compare the held stretches, under the same names.

Visits booked before this revision hold only their own time: the rule they were booked under did not keep
their buffers, and giving them buffers now could make two of them overlap. On SQLite the columns stay nullable
in the schema (adding NOT NULL would rebuild the table); the triggers refuse a NULL instead. On both, a held
stretch must contain the visit.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_STATUSES = "('booked', 'completed')"
# (column, constraint or message name, columns of the stretch it is held for): buffers keep a practitioner,
# room or device; a patient is busy only during the visit.
HELD = ("held_from", "held_until")
SPAN = ("start_at", "end_at")
EXCLUSIVE = (
    ("practitioner_id", "ex_visits_practitioner_overlap", HELD),
    ("room_id", "ex_visits_room_overlap", HELD),
    ("device_id", "ex_visits_device_overlap", HELD),
    ("patient_id", "ex_visits_patient_overlap", SPAN),
)
CONTAINS = "held_from <= start_at AND end_at <= held_until"


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    for column in HELD:
        op.add_column("visits", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE visits SET held_from = start_at, held_until = end_at")
    if postgresql:
        for column in HELD:
            op.alter_column("visits", column, nullable=False)
        op.create_check_constraint(op.f("ck_visits_held_contains_visit"), "visits", CONTAINS)
        _postgresql_exclusions(EXCLUSIVE)
    else:
        _sqlite_triggers(EXCLUSIVE, require_held=True)


def downgrade() -> None:
    before = tuple((column, name, SPAN) for column, name, _ in EXCLUSIVE)
    if op.get_context().dialect.name == "postgresql":
        _postgresql_exclusions(before)
        op.drop_constraint(op.f("ck_visits_held_contains_visit"), "visits", type_="check")
    else:
        _sqlite_triggers(before, require_held=False)
    for column in HELD:
        op.drop_column("visits", column)


def _postgresql_exclusions(exclusive: Sequence[tuple[str, str, tuple[str, str]]]) -> None:
    for column, name, (since, until) in exclusive:
        # A NULL room or device never equals another, so visits without one never conflict over it.
        op.execute(f"ALTER TABLE visits DROP CONSTRAINT {name}")
        op.execute(
            f"ALTER TABLE visits ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange({since}, {until}) WITH &&) WHERE (status IN {ACTIVE_STATUSES})"
        )


def _sqlite_triggers(exclusive: Sequence[tuple[str, str, tuple[str, str]]], *, require_held: bool) -> None:
    # Instants are stored as UTC text of one fixed width, so text order is time order. Half-open stretches,
    # as tstzrange: a visit may begin holding its room when the previous one stops.
    checks = " ".join(
        f"SELECT RAISE(ABORT, '{name}') WHERE NEW.status IN {ACTIVE_STATUSES} AND EXISTS ("  # noqa: S608
        f"SELECT 1 FROM visits AS other WHERE other.{column} = NEW.{column} AND other.id IS NOT NEW.id "
        f"AND other.status IN {ACTIVE_STATUSES} "
        f"AND other.{since} < NEW.{until} AND NEW.{since} < other.{until});"
        for column, name, (since, until) in exclusive
    )
    watched = "practitioner_id, room_id, device_id, patient_id, start_at, end_at, status"
    if require_held:
        # NOT NULL and CHECK cannot be added to an SQLite table without rebuilding it: the triggers say it.
        checks = (
            "SELECT RAISE(ABORT, 'ck_visits_held_contains_visit') WHERE NEW.held_from IS NULL "
            "OR NEW.held_until IS NULL OR NEW.held_from > NEW.start_at OR NEW.end_at > NEW.held_until; " + checks
        )
        watched += ", held_from, held_until"
    for trigger in ("visits_no_overlap_insert", "visits_no_overlap_update"):
        op.execute(f"DROP TRIGGER {trigger}")
    # Every insert is checked, active or not, so no visit gets in without its held stretch.
    op.execute(f"CREATE TRIGGER visits_no_overlap_insert BEFORE INSERT ON visits BEGIN {checks} END")
    op.execute(f"CREATE TRIGGER visits_no_overlap_update BEFORE UPDATE OF {watched} ON visits BEGIN {checks} END")
