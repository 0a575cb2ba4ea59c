"""The store's rows as the domain's values: a clinic with its hours, closures, holidays, rooms, devices and
busy times; its practitioners; a patient with their history, factors and busy times.

Busy times are read for a stretch of time only, so what a use case loads follows its window, not the diary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from safewindow.clock import clinic_zone
from safewindow.domain import availability as domain
from safewindow.domain.advice import UnknownName
from safewindow.domain.history import PastVisit, clinic_day
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.slots import Patient as PatientView
from safewindow.domain.weekly_hours import ClinicDay
from safewindow.services.clinic_setup import STAFF, ClinicSetup, Version, clinic_setup, locked, read_ahead
from safewindow.services.errors import InputError, NotFound
from safewindow.store import models
from safewindow.store.settings_models import ConfigurationVersion

ACTIVE = tuple(models.ACTIVE_STATUSES)


def bc_holidays(years: Iterable[int]) -> dict[date, str]:
    """British Columbia's statutory holidays (the `holidays` package, country CA, subdivision BC)."""
    found: dict[date, str] = {}
    for year in years:
        found.update(_bc_holidays_in(year))
    return found


@cache
def _bc_holidays_in(year: int) -> tuple[tuple[date, str], ...]:
    # Working a year out takes the package a while, and every booking asks: a year's list never changes.
    return tuple(holidays.country_holidays("CA", subdiv="BC", years=year).items())


@dataclass(frozen=True)
class ClinicView:
    clinic: domain.Clinic
    name: str
    practitioners: tuple[domain.Practitioner, ...]
    offered: Mapping[str, domain.OfferedTreatment]
    policy: domain.BookingPolicy
    holidays: dict[date, str]

    @property
    def zone(self) -> ZoneInfo:
        return self.clinic.zone

    def treatment(self, slug: str, kb: KnowledgeBase | None = None) -> domain.OfferedTreatment:
        if kb is not None and slug not in kb.treatments:
            raise InputError("treatment", str(UnknownName("treatment", slug, kb.treatments)))
        try:
            return self.offered[slug]
        except KeyError:
            offered = ", ".join(sorted(self.offered)) or "nothing yet"
            raise InputError("treatment", f"{self.name} does not offer {slug!r} (it offers {offered})") from None

    def practitioner(self, practitioner_id: str) -> domain.Practitioner:
        found = next((p for p in self.practitioners if p.id == practitioner_id), None)
        if found is None:
            raise InputError("practitioner", f"no practitioner {practitioner_id} works at {self.name}")
        return found


def get_clinic(session: Session, clinic_id: int) -> models.Clinic:
    clinic = session.get(models.Clinic, clinic_id)
    if clinic is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    return clinic


_LOCKED = (
    select(models.Clinic.id, ConfigurationVersion.instance, ConfigurationVersion.version)
    .select_from(models.Clinic)
    .join(ConfigurationVersion, ConfigurationVersion.id == 1)  # the one row: read with the lock, no extra query
    .where(models.Clinic.id == bindparam("clinic"))
)
_LOCKED_WITH_STAFF = (
    _LOCKED.add_columns(models.Practitioner.id)
    .join(models.Practitioner, models.Practitioner.id.in_(STAFF))
    .order_by(models.Practitioner.id)
    .with_for_update(of=[models.Clinic, models.Practitioner])
)


def lock_and_load(
    session: Session, clinic_id: int, window: Interval, *, ignore_visit: int | None = None
) -> tuple[ClinicSetup, ClinicView]:
    """Take the clinic's row and its practitioners' rows for this transaction, then load the clinic as
    `load_clinic` does, with the setup as it stands once the locks are held. The database refuses overlapping
    held stretches (buffers included) whatever happens; the locks make two bookings at one clinic, or of one
    practitioner anywhere, take turns, so the second sees the first's visit and takes the next free room
    rather than being refused, and no booking checks against a setup being changed meanwhile (the
    administrator's changes take the same rows). Locks are always taken patient, visit, clinic, practitioners
    (by id), so they cannot deadlock. SQLite ignores the locks: its write transactions are serialised already.

    The setup's version is read twice: with the locks (cheap, and right unless the lock was waited for) and
    again with the busy times, a statement that begins once the locks are held and so sees a change that
    committed while this waited. Should they differ, the setup and the busy times are read again."""
    read_ahead(session, clinic_id)
    rows = session.execute(_LOCKED_WITH_STAFF, {"clinic": clinic_id}).all()
    if not rows:  # nobody works here (an inner join: PostgreSQL locks no row on an outer join's empty side)
        rows = session.execute(_LOCKED.with_for_update(of=models.Clinic), {"clinic": clinic_id}).all()
    if not rows:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    _, instance, number = rows[0][:3]
    version = Version(instance, number)
    while True:
        setup = clinic_setup(session, clinic_id, version)
        held = session.execute(_HELD_NOW, _held_parameters(setup, window, ignore_visit)).all()
        now = Version(held[0].instance, held[0].version)
        if now == version:
            break
        version = now  # changed while this waited for the locks
    locked(session, setup)
    return setup, _view(setup, window, [row[2:] for row in held if row.practitioner_id is not None])


def days_window(first: date, last: date, zone: ZoneInfo) -> Interval:
    """The clinic days `first` to `last` with a day either side: busy times read for it reach past any buffer."""
    return Interval(ClinicDay(first - timedelta(days=1), zone).start, ClinicDay(last + timedelta(days=2), zone).start)


def load_clinic(
    session: Session,
    clinic: int | ClinicSetup,
    window: Interval,
    *,
    ignore_visit: int | None = None,
) -> ClinicView:
    """The clinic (its id, or its setup) as the domain sees it, with busy times within `window` (widen it by
    the longest buffer): each visit's held stretch, its set-up and clean-up included, so a new visit keeps its
    own buffers clear of them and theirs clear of itself. `ignore_visit` leaves one visit out of every busy
    time: the one being moved."""
    setup = clinic if isinstance(clinic, ClinicSetup) else clinic_setup(session, clinic)
    return _view(setup, window, session.execute(_HELD, _held_parameters(setup, window, ignore_visit)).all())


def _view(setup: ClinicSetup, window: Interval, held: Iterable[Sequence[Any]]) -> ClinicView:
    """The setup with busy times from `held` rows (practitioner, room, device, held from, held until)."""
    zone = setup.zone
    first, last = clinic_day(window.start, zone), clinic_day(window.end, zone)
    kept = {} if setup.open_on_holidays else bc_holidays(range(first.year, last.year + 1))
    closed_days = set(kept) | setup.closed_days(first, last)

    by_room: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_device: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_practitioner: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for practitioner_id, room_id, device_id, start, end in held:
        by_practitioner[practitioner_id].append((start, end))
        if room_id is not None:
            by_room[room_id].append((start, end))
        if device_id is not None:
            by_device[device_id].append((start, end))

    return ClinicView(
        clinic=domain.Clinic(
            id=str(setup.id),
            zone=zone,
            opening=setup.opening,
            closures=domain.Closures(dates=frozenset(closed_days)),
            rooms=tuple(
                domain.Room(str(id_), kind, busy=BusyTimes.of_pairs(by_room[id_])) for id_, kind in setup.rooms
            ),
            devices=tuple(
                domain.Device(str(id_), kind, busy=BusyTimes.of_pairs(by_device[id_])) for id_, kind in setup.devices
            ),
        ),
        name=setup.name,
        practitioners=tuple(p.with_busy(BusyTimes.of_pairs(by_practitioner.get(p.id, ()))) for p in setup.staff),
        offered=setup.offered,
        policy=setup.policy,
        holidays=kept,
    )


# Visits are found by when they take place (the indexes' columns), so `window` must reach past any buffer; each
# gives the stretch it holds its practitioner, room and device for, buffers included.
_HELD_COLUMNS = (
    models.Visit.practitioner_id,
    models.Visit.room_id,
    models.Visit.device_id,
    models.Visit.held_from,
    models.Visit.held_until,
)
_HELD_WHERE = and_(
    models.Visit.status.in_(ACTIVE),
    models.Visit.start_at < bindparam("end"),
    models.Visit.end_at > bindparam("start"),
    models.Visit.id != bindparam("ignore"),  # 0 when none: ids start at 1
    or_(
        models.Visit.clinic_id == bindparam("clinic"),
        models.Visit.practitioner_id.in_(bindparam("staff", expanding=True)),
    ),
)
_HELD = select(*_HELD_COLUMNS).where(_HELD_WHERE)
# The same, each row with the setup's version as it is when the statement begins (one row of NULLs but the
# version when no visit is held): read after the clinic's locks were granted, it sees a change they waited for.
_HELD_NOW = (
    select(ConfigurationVersion.instance, ConfigurationVersion.version, *_HELD_COLUMNS)
    .select_from(ConfigurationVersion)
    .outerjoin(models.Visit, _HELD_WHERE)
    .where(ConfigurationVersion.id == 1)
)


def _held_parameters(setup: ClinicSetup, window: Interval, ignore_visit: int | None) -> dict[str, Any]:
    """Visits in the window that hold this clinic's rooms and devices or its practitioners (anywhere)."""
    return {
        "start": window.start,
        "end": window.end,
        "ignore": ignore_visit or 0,
        "clinic": setup.id,
        "staff": list(setup.staff_ids),
    }


def _none(type_: TypeEngine[Any]) -> ColumnElement[Any]:
    return cast(null(), type_)


# The patient's record in one statement (a booking runs it every time, and each statement costs more than its
# rows): their active visits with each clinic's zone, the treatments they had elsewhere, their active factors.
# Each row says which it is; the columns another part does not fill are NULL. Built once: building a statement
# costs more than running it.
_PATIENT_RECORD = union_all(
    select(
        literal_column("'visit'").label("part"),
        models.Visit.treatment_slug.label("slug"),
        models.Visit.start_at.label("start_at"),
        models.Visit.end_at.label("end_at"),
        models.Visit.area.label("area"),
        models.Clinic.time_zone.label("zone"),
        _none(Date()).label("day"),
        _none(String()).label("factor"),
        _none(Integer()).label("n"),
    )
    .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
    .where(
        models.Visit.patient_id == bindparam("patient"),
        models.Visit.status.in_(ACTIVE),
        models.Visit.id != bindparam("ignore"),  # 0 when none: ids start at 1
    ),
    select(
        literal_column("'elsewhere'"),
        models.PriorTreatment.treatment_slug,
        _none(models.UTCDateTime()),
        _none(models.UTCDateTime()),
        models.PriorTreatment.area,
        _none(String()),
        models.PriorTreatment.day,
        _none(String()),
        models.PriorTreatment.id,
    ).where(models.PriorTreatment.patient_id == bindparam("patient")),
    select(
        literal_column("'factor'"),
        _none(String()),
        _none(models.UTCDateTime()),
        _none(models.UTCDateTime()),
        _none(String()),
        _none(String()),
        _none(Date()),
        models.PatientFactor.factor_id,
        models.PatientFactor.id,
    ).where(models.PatientFactor.patient_id == bindparam("patient"), models.PatientFactor.active.is_(True)),
    select(
        literal_column("'order'"),
        models.ClientOrder.treatment_slug,
        _none(models.UTCDateTime()),
        _none(models.UTCDateTime()),
        _none(String()),
        _none(String()),
        models.ClientOrder.valid_until,
        _none(String()),
        models.ClientOrder.id,
    ).where(models.ClientOrder.patient_id == bindparam("patient"), models.ClientOrder.revoked_at.is_(None)),
).order_by(literal_column("start_at"), literal_column("n"))  # each part in its order: visits by start, others by id


_PATIENT = select(models.Patient.id).where(models.Patient.id == bindparam("patient"))
_PATIENT_LOCKED = _PATIENT.with_for_update()


def load_patient(
    session: Session, patient_id: int, *, ignore_visit: int | None = None, lock: bool = False
) -> PatientView:
    """The patient's whole history (done and booked visits, each on its clinic-zone day, then the
    treatments they had elsewhere), active factors and busy times. `lock` takes the patient's row for the
    transaction, so two bookings for one patient run one after the other and neither misses the other's visit
    (PostgreSQL; SQLite's write transactions are serialised already). The lock comes first, in its own
    statement: a statement sees the database as it was when it began, so one that waited for the lock would
    read a history without the visit the lock's holder just booked."""
    # Their id alone, not the patient as an object: a booking asks nothing more of them, and loading one costs
    # more than the query.
    if session.execute(_PATIENT_LOCKED if lock else _PATIENT, {"patient": patient_id}).first() is None:
        raise NotFound("patient", f"no patient {patient_id}")
    visits, elsewhere, busy, factors = [], [], [], []
    orders: dict[str, date] = {}  # treatment -> the last day a prescriber's order in force covers
    record = session.execute(_PATIENT_RECORD, {"patient": patient_id, "ignore": ignore_visit or 0})
    for part, slug, start, end, area, zone, day, factor, _ in record:
        if part == "visit":
            visits.append(PastVisit(slug, clinic_day(start, clinic_zone(zone)), area))
            busy.append((start, end))
        elif part == "elsewhere":
            elsewhere.append(PastVisit(slug, day, area))
        elif part == "order":
            orders[slug] = max(day, orders.get(slug, day))
        else:
            factors.append(factor)
    return PatientView(
        history=(*visits, *elsewhere), factors=tuple(factors), busy=BusyTimes.of_pairs(busy), orders=orders
    )


@dataclass(frozen=True)
class Diary:
    """A patient's visits as they stand (active ones, each with its clinic-zone day), the treatments they had
    elsewhere and their factors: what a change is checked against, with some visits moved or left out."""

    visits: tuple[models.Visit, ...]
    days: dict[int, date]  # visit id -> the calendar day in its clinic's zone
    prior: tuple[PastVisit, ...]
    factors: tuple[str, ...]

    def history(self, days: Mapping[int, date], leave_out: set[int]) -> tuple[PastVisit, ...]:
        """The history with each visit on `days[visit]` (a move) and without `leave_out` (the one asked about,
        a cancelled one)."""
        kept = tuple(
            PastVisit(v.treatment_slug, days[v.id], v.area)
            for v in self.visits
            if v.id not in leave_out and v.id in days
        )
        return kept + self.prior


def diary_of(session: Session, patient: models.Patient) -> Diary:
    rows = list(
        session.execute(
            select(models.Visit, models.Clinic.time_zone)
            .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
            .where(models.Visit.patient_id == patient.id, models.Visit.status.in_(ACTIVE))
            .order_by(models.Visit.start_at)
        )
    )
    had_elsewhere = select(models.PriorTreatment).where(models.PriorTreatment.patient_id == patient.id)
    return Diary(
        visits=tuple(v for v, _ in rows),
        days={v.id: clinic_day(v.start_at, clinic_zone(zone)) for v, zone in rows},
        prior=tuple(PastVisit(p.treatment_slug, p.day, p.area) for p in session.scalars(had_elsewhere)),
        factors=tuple(f.factor_id for f in patient.factors if f.active),
    )
