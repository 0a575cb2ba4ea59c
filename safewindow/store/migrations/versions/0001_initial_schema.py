"""The initial schema: clinics, who may do what, practitioners, rooms and devices, treatments offered,
booking policy, patients, visits, overrides and the append-only audit log.

The database itself refuses overlapping active visits of one practitioner, room, device or patient: exclusion
constraints on PostgreSQL, triggers on SQLite (where bookings also run in BEGIN IMMEDIATE transactions).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_STATUSES = "('booked', 'completed')"
# Resources no two active visits may hold at once: (column, constraint or message name).
EXCLUSIVE = (
    ("practitioner_id", "ex_visits_practitioner_overlap"),
    ("room_id", "ex_visits_room_overlap"),
    ("device_id", "ex_visits_device_overlap"),
    ("patient_id", "ex_visits_patient_overlap"),
)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(column: str, target: str, table: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete)


def upgrade() -> None:
    _create_tables()
    if op.get_context().dialect.name == "postgresql":
        _postgresql_guards()
    else:
        _sqlite_guards()


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for _column, name in EXCLUSIVE:
            op.execute(f"ALTER TABLE visits DROP CONSTRAINT {name}")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION audit_log_refuse_change()")
        # btree_gist stays: other schemas in the database may use it, and it holds no data.
    else:
        for trigger in (
            "audit_log_no_update",
            "audit_log_no_delete",
            "visits_no_overlap_insert",
            "visits_no_overlap_update",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    for table in (
        "overrides",
        "visits",
        "patient_factors",
        "patients",
        "booking_policies",
        "clinic_treatments",
        "devices",
        "rooms",
        "practitioner_time_off",
        "practitioner_hours",
        "practitioner_qualifications",
        "practitioners",
        "qualification_permissions",
        "permissions",
        "qualifications",
        "clinic_closures",
        "clinic_hours",
        "clinics",
        "audit_log",
    ):
        op.drop_table(table)


def _create_tables() -> None:
    op.create_table(
        "clinics",
        _id(),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(64), server_default="America/Vancouver", nullable=False),
        sa.Column("open_on_holidays", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
        sa.UniqueConstraint("slug", name=op.f("uq_clinics_slug")),
    )
    op.create_table(
        "clinic_hours",
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.CheckConstraint("opens < closes", name=op.f("ck_clinic_hours_opens_before_closes")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_clinic_hours_weekday")),
        _fk("clinic_id", "clinics.id", "clinic_hours", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_hours")),
        sa.UniqueConstraint("clinic_id", "weekday", "opens", name=op.f("uq_clinic_hours_clinic_id_weekday_opens")),
    )
    op.create_table(
        "clinic_closures",
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_clinic_closures_first_day_not_after_last_day")),
        _fk("clinic_id", "clinics.id", "clinic_closures", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_closures")),
        sa.UniqueConstraint("clinic_id", "first_day", name=op.f("uq_clinic_closures_clinic_id_first_day")),
    )
    op.create_table(
        "qualifications",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualifications")),
    )
    op.create_table(
        "permissions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
    )
    op.create_table(
        "qualification_permissions",
        sa.Column("qualification_id", sa.String(64), nullable=False),
        sa.Column("permission_id", sa.String(64), nullable=False),
        sa.Column("on_order_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        _fk("permission_id", "permissions.id", "qualification_permissions", "CASCADE"),
        _fk("qualification_id", "qualifications.id", "qualification_permissions", "CASCADE"),
        sa.PrimaryKeyConstraint("qualification_id", "permission_id", name=op.f("pk_qualification_permissions")),
    )
    op.create_table(
        "practitioners",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("email", name=op.f("uq_practitioners_email")),
    )
    op.create_table(
        "practitioner_qualifications",
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("qualification_id", sa.String(64), nullable=False),
        _fk("practitioner_id", "practitioners.id", "practitioner_qualifications", "CASCADE"),
        _fk("qualification_id", "qualifications.id", "practitioner_qualifications", "CASCADE"),
        sa.PrimaryKeyConstraint("practitioner_id", "qualification_id", name=op.f("pk_practitioner_qualifications")),
    )
    op.create_table(
        "practitioner_hours",
        _id(),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.CheckConstraint("starts < ends", name=op.f("ck_practitioner_hours_starts_before_ends")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_practitioner_hours_weekday")),
        _fk("clinic_id", "clinics.id", "practitioner_hours", "CASCADE"),
        _fk("practitioner_id", "practitioners.id", "practitioner_hours", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner_hours")),
        sa.UniqueConstraint(
            "practitioner_id",
            "clinic_id",
            "weekday",
            "starts",
            name=op.f("uq_practitioner_hours_practitioner_id_clinic_id_weekday_starts"),
        ),
    )
    op.create_table(
        "practitioner_time_off",
        _id(),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        _instant("start_at"),
        _instant("end_at"),
        sa.Column("reason", sa.String(200), server_default="", nullable=False),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_practitioner_time_off_starts_before_ends")),
        _fk("practitioner_id", "practitioners.id", "practitioner_time_off", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner_time_off")),
        sa.UniqueConstraint(
            "practitioner_id", "start_at", name=op.f("uq_practitioner_time_off_practitioner_id_start_at")
        ),
    )
    for table in ("rooms", "devices"):
        op.create_table(
            table,
            _id(),
            sa.Column("clinic_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            _fk("clinic_id", "clinics.id", table, "CASCADE"),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("clinic_id", "name", name=op.f(f"uq_{table}_clinic_id_name")),
        )
    op.create_table(
        "clinic_treatments",
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("treatment_slug", sa.String(64), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("required_permission_id", sa.String(64), nullable=True),
        sa.Column("required_room_kind", sa.String(64), nullable=True),
        sa.Column("required_device_kind", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0",
            name=op.f("ck_clinic_treatments_buffers_not_negative"),
        ),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_clinic_treatments_positive_duration")),
        _fk("clinic_id", "clinics.id", "clinic_treatments", "CASCADE"),
        _fk("required_permission_id", "permissions.id", "clinic_treatments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_treatments")),
        sa.UniqueConstraint("clinic_id", "treatment_slug", name=op.f("uq_clinic_treatments_clinic_id_treatment_slug")),
    )
    op.create_table(
        "booking_policies",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), server_default="120", nullable=False),
        sa.Column("horizon_days", sa.Integer(), server_default="90", nullable=False),
        sa.Column("slot_step_minutes", sa.Integer(), server_default="15", nullable=False),
        sa.CheckConstraint("horizon_days > 0", name=op.f("ck_booking_policies_positive_horizon")),
        sa.CheckConstraint("min_notice_minutes >= 0", name=op.f("ck_booking_policies_notice_not_negative")),
        sa.CheckConstraint("slot_step_minutes > 0", name=op.f("ck_booking_policies_positive_slot_step")),
        _fk("clinic_id", "clinics.id", "booking_policies", "CASCADE"),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_booking_policies")),
    )
    op.create_table(
        "patients",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
    )
    op.create_table(
        "patient_factors",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("factor_id", sa.String(64), nullable=False),
        _instant("recorded_at"),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _instant("resolved_at", nullable=True),
        _fk("patient_id", "patients.id", "patient_factors", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_factors")),
    )
    op.create_index("ix_patient_factors_patient_id", "patient_factors", ["patient_id"])
    op.create_table(
        "visits",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("treatment_slug", sa.String(64), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        _instant("start_at"),
        _instant("end_at"),
        sa.Column("area", sa.String(64), server_default="face", nullable=False),
        sa.Column("status", sa.String(16), server_default="booked", nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        _instant("created_at"),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('booked', 'completed', 'cancelled', 'no-show')", name=op.f("ck_visits_known_status")
        ),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_visits_starts_before_ends")),
        _fk("clinic_id", "clinics.id", "visits"),
        _fk("device_id", "devices.id", "visits"),
        _fk("patient_id", "patients.id", "visits"),
        _fk("practitioner_id", "practitioners.id", "visits"),
        _fk("room_id", "rooms.id", "visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    for column in ("clinic_id", "device_id", "patient_id", "practitioner_id", "room_id"):
        op.create_index(f"ix_visits_{column}_start_at", "visits", [column, "start_at"])
    op.create_table(
        "overrides",
        _id(),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        _instant("at"),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_overrides_reason_given")),
        _fk("practitioner_id", "practitioners.id", "overrides"),
        _fk("visit_id", "visits.id", "overrides"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrides")),
    )
    op.create_index("ix_overrides_visit_id", "overrides", ["visit_id"])
    op.create_table(
        "audit_log",
        _id(),
        _instant("at"),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"])


def _postgresql_guards() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for column, name in EXCLUSIVE:
        # A NULL room or device never equals another, so visits without one never conflict over it.
        op.execute(
            f"ALTER TABLE visits ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(start_at, end_at) WITH &&) WHERE (status IN {ACTIVE_STATUSES})"
        )
    # 23001 restrict_violation: callers see an IntegrityError on both databases.
    op.execute(
        "CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()"
    )


def _sqlite_guards() -> None:
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    # Instants are stored as UTC text of one fixed width, so text order is time order. Same half-open
    # intervals as tstzrange: a visit may start when the previous one ends.
    checks = " ".join(
        f"SELECT RAISE(ABORT, '{name}') WHERE EXISTS (SELECT 1 FROM visits AS other "  # noqa: S608 (constants)
        f"WHERE other.{column} = NEW.{column} AND other.id IS NOT NEW.id "
        f"AND other.status IN {ACTIVE_STATUSES} "
        "AND other.start_at < NEW.end_at AND NEW.start_at < other.end_at);"
        for column, name in EXCLUSIVE
    )
    new_is_active = f"NEW.status IN {ACTIVE_STATUSES}"
    op.execute(
        f"CREATE TRIGGER visits_no_overlap_insert BEFORE INSERT ON visits WHEN {new_is_active} BEGIN {checks} END"
    )
    op.execute(
        "CREATE TRIGGER visits_no_overlap_update BEFORE UPDATE OF "
        "practitioner_id, room_id, device_id, patient_id, start_at, end_at, status ON visits "
        f"WHEN {new_is_active} BEGIN {checks} END"
    )
