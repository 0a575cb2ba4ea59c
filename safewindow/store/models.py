"""The tables, as SQLAlchemy typed declarative models.

Instants are timezone-aware datetimes, stored and read back in UTC; wall-clock hours (opening hours, working
hours) are local times in the clinic's zone. Who may do what is data: qualifications grant permissions, and a
treatment a clinic offers names the permission it needs. Create the schema with `safewindow.store.migrate`,
never `metadata.create_all`: the migration also installs what models cannot say (PostgreSQL exclusion
constraints, SQLite triggers, the append-only audit log)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from safewindow.clock import DEFAULT_ZONE, now_utc

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
DEFAULT_AREA = "face"


class VisitStatus(StrEnum):
    BOOKED = "booked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no-show"


# Visits that hold their practitioner, room, device and patient; the others free the time.
ACTIVE_STATUSES = (VisitStatus.BOOKED, VisitStatus.COMPLETED)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, always UTC. SQLite keeps no offset, so a naive value is refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"instants must be timezone-aware, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class VisitStatusType(TypeDecorator[VisitStatus]):
    """Stored as the status's text ('no-show'), read back as a VisitStatus."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: VisitStatus | str | None, dialect: Dialect) -> str | None:
        return None if value is None else VisitStatus(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> VisitStatus | None:
        return None if value is None else VisitStatus(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012  (SQLAlchemy reads it at class creation)


def _weekday() -> CheckConstraint:
    # Python's date.weekday(): Monday is 0, Sunday is 6.
    return CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday")


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE, server_default=DEFAULT_ZONE)
    # Closed on British Columbia's statutory holidays unless the clinic says otherwise.
    open_on_holidays: Mapped[bool] = mapped_column(default=False, server_default=false())

    hours: Mapped[list[ClinicHours]] = relationship(back_populates="clinic", cascade="all, delete-orphan")
    closures: Mapped[list[ClinicClosure]] = relationship(back_populates="clinic", cascade="all, delete-orphan")
    rooms: Mapped[list[Room]] = relationship(back_populates="clinic", cascade="all, delete-orphan")
    devices: Mapped[list[Device]] = relationship(back_populates="clinic", cascade="all, delete-orphan")
    treatments: Mapped[list[ClinicTreatment]] = relationship(back_populates="clinic", cascade="all, delete-orphan")
    policy: Mapped[BookingPolicy | None] = relationship(back_populates="clinic", cascade="all, delete-orphan")


class ClinicHours(Base):
    """Opening hours on one weekday, local time; several rows make a split day."""

    __tablename__ = "clinic_hours"
    __table_args__ = (
        UniqueConstraint("clinic_id", "weekday", "opens"),
        _weekday(),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    clinic: Mapped[Clinic] = relationship(back_populates="hours")


class ClinicClosure(Base):
    """Days the clinic is closed, first to last inclusive, as calendar days in its zone."""

    __tablename__ = "clinic_closures"
    __table_args__ = (
        UniqueConstraint("clinic_id", "first_day"),
        CheckConstraint("first_day <= last_day", name="first_day_not_after_last_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))

    clinic: Mapped[Clinic] = relationship(back_populates="closures")


class Qualification(Base):
    """A profession or credential, e.g. `physician`, `registered-nurse`; what it allows is in its grants."""

    __tablename__ = "qualifications"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")

    grants: Mapped[list[Grant]] = relationship(back_populates="qualification", cascade="all, delete-orphan")


class Permission(Base):
    """Something a treatment may require, e.g. `may-inject`, `may-prescribe`, `may-do-skin-treatments`."""

    __tablename__ = "permissions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")


class Grant(Base):
    """A qualification allows a permission; `on_order_only` when it needs an authorized prescriber's
    client-specific order (in BC a registered nurse injects Botox that way)."""

    __tablename__ = "qualification_permissions"

    qualification_id: Mapped[str] = mapped_column(ForeignKey("qualifications.id", ondelete="CASCADE"), primary_key=True)
    permission_id: Mapped[str] = mapped_column(ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True)
    on_order_only: Mapped[bool] = mapped_column(default=False, server_default=false())

    qualification: Mapped[Qualification] = relationship(back_populates="grants")
    permission: Mapped[Permission] = relationship()


practitioner_qualifications = Table(
    "practitioner_qualifications",
    Base.metadata,
    Column("practitioner_id", ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True),
    Column("qualification_id", ForeignKey("qualifications.id", ondelete="CASCADE"), primary_key=True),
)


class Practitioner(Base):
    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    qualifications: Mapped[list[Qualification]] = relationship(secondary=practitioner_qualifications)
    hours: Mapped[list[PractitionerHours]] = relationship(back_populates="practitioner", cascade="all, delete-orphan")
    time_off: Mapped[list[TimeOff]] = relationship(back_populates="practitioner", cascade="all, delete-orphan")


class PractitionerHours(Base):
    """When a practitioner works at a clinic on one weekday, local time in the clinic's zone."""

    __tablename__ = "practitioner_hours"
    __table_args__ = (
        UniqueConstraint("practitioner_id", "clinic_id", "weekday", "starts"),
        _weekday(),
        CheckConstraint("starts < ends", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)

    practitioner: Mapped[Practitioner] = relationship(back_populates="hours")
    clinic: Mapped[Clinic] = relationship()


class TimeOff(Base):
    __tablename__ = "practitioner_time_off"
    __table_args__ = (
        UniqueConstraint("practitioner_id", "start_at"),
        CheckConstraint("start_at < end_at", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")

    practitioner: Mapped[Practitioner] = relationship(back_populates="time_off")


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("clinic_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. treatment, laser

    clinic: Mapped[Clinic] = relationship(back_populates="rooms")


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("clinic_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. laser, rf-microneedling

    clinic: Mapped[Clinic] = relationship(back_populates="devices")


class ClinicTreatment(Base):
    """A treatment (a knowledge-base slug) as one clinic offers it, with what it needs."""

    __tablename__ = "clinic_treatments"
    __table_args__ = (
        UniqueConstraint("clinic_id", "treatment_slug"),
        CheckConstraint("duration_minutes > 0", name="positive_duration"),
        CheckConstraint("buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers_not_negative"),
        CheckConstraint("deposit_cents >= 0", name="deposit_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    treatment_slug: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int]
    buffer_before_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    required_permission_id: Mapped[str | None] = mapped_column(ForeignKey("permissions.id"))
    required_room_kind: Mapped[str | None] = mapped_column(String(64))
    required_device_kind: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    deposit_cents: Mapped[int] = mapped_column(default=0, server_default="0")  # asked to hold a visit; 0: none

    clinic: Mapped[Clinic] = relationship(back_populates="treatments")
    required_permission: Mapped[Permission | None] = relationship()


class BookingPolicy(Base):
    __tablename__ = "booking_policies"
    __table_args__ = (
        CheckConstraint("min_notice_minutes >= 0", name="notice_not_negative"),
        CheckConstraint("horizon_days > 0", name="positive_horizon"),
        CheckConstraint("slot_step_minutes > 0", name="positive_slot_step"),
        CheckConstraint("change_notice_minutes >= 0", name="change_notice_not_negative"),
    )

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), primary_key=True)
    min_notice_minutes: Mapped[int] = mapped_column(default=120, server_default="120")
    horizon_days: Mapped[int] = mapped_column(default=90, server_default="90")
    slot_step_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    # How long before a visit a patient may still cancel or move it online; closer, they call the clinic.
    change_notice_minutes: Mapped[int] = mapped_column(default=0, server_default="0")

    clinic: Mapped[Clinic] = relationship(back_populates="policy")


class Patient(Base):
    """Only what booking needs (PIPA: collect no more than the purpose requires)."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    factors: Mapped[list[PatientFactor]] = relationship(back_populates="patient", cascade="all, delete-orphan")


class PatientFactor(Base):
    """A personal factor (a knowledge-base factor id such as `sensitive-skin`) as recorded for a patient."""

    __tablename__ = "patient_factors"
    __table_args__ = (Index("ix_patient_factors_patient_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    factor_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)
    recorded_by: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    resolved_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(back_populates="factors")


class PriorTreatment(Base):
    """A treatment the patient had elsewhere, as they or a practitioner reported it: it counts in the
    patient's history for the timing rules, but holds no practitioner, room or time here."""

    __tablename__ = "prior_treatments"
    __table_args__ = (Index("ix_prior_treatments_patient_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    treatment_slug: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)  # the calendar day it was done, where it was done
    area: Mapped[str] = mapped_column(String(64), default=DEFAULT_AREA, server_default=DEFAULT_AREA)
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)


class ClientOrder(Base):
    """An authorized prescriber's client-specific order: this patient may have this treatment from a
    practitioner who gives it only on such an order (in BC a registered nurse injects Botox that way), on
    visits up to `valid_until`, the last calendar day it covers. `note` says what the prescriber ordered
    (product, dose, areas): health data, kept here and never in the audit log. Revoked, never deleted."""

    __tablename__ = "client_orders"
    __table_args__ = (
        CheckConstraint("revoked_at IS NULL OR revoked_by IS NOT NULL", name="revoked_by_someone"),
        Index("ix_client_orders_patient_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    treatment_slug: Mapped[str] = mapped_column(String(64))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    valid_until: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    written_by: Mapped[str] = mapped_column(String(254))
    written_at: Mapped[datetime] = mapped_column(default=now_utc)
    revoked_by: Mapped[str | None] = mapped_column(String(254))
    revoked_at: Mapped[datetime | None] = mapped_column()

    prescriber: Mapped[Practitioner] = relationship()


class Visit(Base):
    """A booked or past visit. It holds its practitioner, room and device from `held_from` to `held_until`
    (its buffers, as the clinic's offer gave them when it was booked), and its patient during the visit
    itself. No two active visits hold one practitioner, room, device or patient at once: the migrations make
    the database enforce it (exclusion constraints on PostgreSQL, triggers on SQLite)."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="starts_before_ends"),
        CheckConstraint("status IN ('booked', 'completed', 'cancelled', 'no-show')", name="known_status"),
        CheckConstraint("held_from <= start_at AND end_at <= held_until", name="held_contains_visit"),
        CheckConstraint("deposit_cents >= 0", name="deposit_not_negative"),
        Index("ix_visits_practitioner_id_start_at", "practitioner_id", "start_at"),
        Index("ix_visits_patient_id_start_at", "patient_id", "start_at"),
        Index("ix_visits_room_id_start_at", "room_id", "start_at"),
        Index("ix_visits_device_id_start_at", "device_id", "start_at"),
        Index("ix_visits_clinic_id_start_at", "clinic_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    treatment_slug: Mapped[str] = mapped_column(String(64))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    held_from: Mapped[datetime]
    held_until: Mapped[datetime]
    area: Mapped[str] = mapped_column(String(64), default=DEFAULT_AREA, server_default=DEFAULT_AREA)
    status: Mapped[VisitStatus] = mapped_column(
        VisitStatusType(), default=VisitStatus.BOOKED, server_default=VisitStatus.BOOKED.value
    )
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    # The deposit the clinic asked when it was booked (its offer may change since), and whether it was cancelled
    # within the clinic's notice for changes: then the clinic may keep that deposit.
    deposit_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    cancelled_late: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Optimistic locking: changing a visit someone else changed meanwhile fails with StaleDataError.
    version: Mapped[int] = mapped_column(server_default="1")

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[Clinic] = relationship()
    practitioner: Mapped[Practitioner] = relationship()
    room: Mapped[Room | None] = relationship()
    device: Mapped[Device | None] = relationship()
    overrides: Mapped[list[Override]] = relationship(back_populates="visit")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Override(Base):
    """A practitioner booked past a soft rule, and said why."""

    __tablename__ = "overrides"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        Index("ix_overrides_visit_id", "visit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    rule_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    at: Mapped[datetime] = mapped_column(default=now_utc)

    visit: Mapped[Visit] = relationship(back_populates="overrides")
    practitioner: Mapped[Practitioner] = relationship()


class TreatmentRecord(Base):
    """What was given at a completed visit, as its practitioner recorded it: the product, its lot number and
    expiry (so a product recall finds every patient who had that lot), the dose, the areas treated, a note, and
    that the patient gave informed consent before it. Never changed: a correction is a new record, and the
    latest one of a visit is its record. Health data: kept here, never in the audit log."""

    __tablename__ = "treatment_records"
    __table_args__ = (
        CheckConstraint("consent_confirmed", name="consent_confirmed"),
        CheckConstraint("length(trim(product)) > 0 AND length(trim(lot_number)) > 0", name="product_and_lot_given"),
        Index("ix_treatment_records_visit_id", "visit_id"),
        Index("ix_treatment_records_lot_number", "lot_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    product: Mapped[str] = mapped_column(String(200))
    lot_number: Mapped[str] = mapped_column(String(64))  # as printed, upper case: lookups match it exactly
    expires_on: Mapped[date | None] = mapped_column(Date)
    dose: Mapped[str] = mapped_column(String(100), default="", server_default="")
    areas: Mapped[str] = mapped_column(String(500), default="", server_default="")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    consent_confirmed: Mapped[bool] = mapped_column()
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    visit: Mapped[Visit] = relationship()
    points: Mapped[list[InjectionPoint]] = relationship(order_by="InjectionPoint.id")


class InjectionPoint(Base):
    """One site of a record's injection map (domain/injection_map.py): the amount in hundredths of its unit,
    so 2.5 units is 250 and 0.25 mL is 25, exact on both databases. Written with its record, never changed."""

    __tablename__ = "injection_points"
    __table_args__ = (
        CheckConstraint("amount_hundredths > 0", name="positive_amount"),
        UniqueConstraint("record_id", "site"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("treatment_records.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(64))
    amount_hundredths: Mapped[int]
    unit: Mapped[str] = mapped_column(String(8))  # as recorded: the knowledge base's unit may change later


class DepositEntry(Base):
    """One step of a visit's deposit, as staff recorded it (domain/deposits.py says which may follow which).
    Append-only: the database refuses UPDATE and DELETE, so the ledger of money is never rewritten."""

    __tablename__ = "deposit_entries"
    __table_args__ = (
        CheckConstraint("step IN ('taken', 'applied', 'refunded', 'kept', 'waived')", name="known_step"),
        CheckConstraint("amount_cents > 0", name="positive_amount"),
        CheckConstraint("step <> 'waived' OR length(trim(reason)) > 0", name="waiver_has_reason"),
        Index("ix_deposit_entries_visit_id", "visit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    step: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int]
    method: Mapped[str | None] = mapped_column(String(16))  # card, cash, e-transfer, other: taken and refunded
    reference: Mapped[str] = mapped_column(String(64), default="", server_default="")  # a receipt's number
    reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)


class AuditEntry(Base):
    """Who did what to which record. Append-only: the database refuses UPDATE and DELETE.
    `detail` names ids and fields, never health data (no factors, treatments or notes): PIPA."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))


from safewindow.store import account_models as account_models  # noqa: E402
from safewindow.store import consent_models as consent_models  # noqa: E402
from safewindow.store import outbox_models as outbox_models  # noqa: E402
from safewindow.store import plan_models as plan_models  # noqa: E402
from safewindow.store import settings_models as settings_models  # noqa: E402
from safewindow.store import webhook_models as webhook_models  # noqa: E402
