"""The store's rows as the domain's values: a clinic with its hours, closures, holidays, rooms, devices and
busy times; its practitioners; a patient with their history, factors and busy times.

Busy times are read for a stretch of time only, so what a use case loads follows its window, not the diary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import Row, bindparam, or_, select
from sqlalchemy.orm import Session

from safewindow.clock import clinic_zone
from safewindow.domain import availability as domain
from safewindow.domain.advice import UnknownName
from safewindow.domain.history import PastVisit, clinic_day
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.slots import Patient as PatientView
from safewindow.services.clinic_setup import STAFF, ClinicSetup, Version, clinic_setup, locked
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


def _busy(rows: Iterable[tuple[datetime, datetime]]) -> BusyTimes:
    return BusyTimes.of(Interval(start, end) for start, end in rows)


def get_clinic(session: Session, clinic_id: int) -> models.Clinic:
    clinic = session.get(models.Clinic, clinic_id)
    if clinic is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    return clinic


_LOCKED = (
    select(models.Clinic, ConfigurationVersion.instance, ConfigurationVersion.version)
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


def lock_clinic(session: Session, clinic_id: int) -> tuple[models.Clinic, ClinicSetup]:
    """Take the clinic's row and its practitioners' rows for this transaction, before busy times are read, and
    return the clinic's row and setup: the database refuses overlapping visits, but not a broken buffer, so
    two bookings at one clinic, or of one practitioner anywhere, must not both read the diary before either
    writes. Locks are always taken patient, visit, clinic, practitioners (by id), so they cannot deadlock; one
    statement takes them and reads the configuration version. SQLite ignores the locks: its write
    transactions are serialised already."""
    rows = session.execute(_LOCKED_WITH_STAFF, {"clinic": clinic_id}).all()
    if not rows:  # nobody works here (an inner join: PostgreSQL locks no row on an outer join's empty side)
        rows = session.execute(_LOCKED.with_for_update(of=models.Clinic), {"clinic": clinic_id}).all()
    if not rows:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    row, instance, number = rows[0][:3]
    setup = clinic_setup(session, clinic_id, Version(instance, number))
    locked(session, setup)
    return row, setup


def load_clinic(
    session: Session,
    clinic: int | ClinicSetup,
    window: Interval,
    *,
    ignore_visit: int | None = None,
) -> ClinicView:
    """The clinic (its id, or its setup as `lock_clinic` gave it) as the domain sees it, with busy times within
    `window` (widen it by the longest buffer). `ignore_visit` leaves one visit out of every busy time: the one
    being moved."""
    setup = clinic if isinstance(clinic, ClinicSetup) else clinic_setup(session, clinic)
    zone = setup.zone
    first, last = clinic_day(window.start, zone), clinic_day(window.end, zone)
    kept = {} if setup.open_on_holidays else bc_holidays(range(first.year, last.year + 1))
    closed_days = set(kept) | setup.closed_days(first, last)

    by_room: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_device: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_practitioner: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for practitioner_id, room_id, device_id, start, end in _active_visits(session, window, ignore_visit, setup):
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
            rooms=tuple(domain.Room(str(id_), kind, busy=_busy(by_room[id_])) for id_, kind in setup.rooms),
            devices=tuple(domain.Device(str(id_), kind, busy=_busy(by_device[id_])) for id_, kind in setup.devices),
        ),
        name=setup.name,
        practitioners=tuple(p.with_busy(_busy(by_practitioner.get(p.id, ()))) for p in setup.staff),
        offered=setup.offered,
        policy=setup.policy,
        holidays=kept,
    )


_HELD = (
    select(
        models.Visit.practitioner_id,
        models.Visit.room_id,
        models.Visit.device_id,
        models.Visit.start_at,
        models.Visit.end_at,
    )
    .where(
        models.Visit.status.in_(ACTIVE),
        models.Visit.start_at < bindparam("end"),
        models.Visit.end_at > bindparam("start"),
        models.Visit.id != bindparam("ignore"),  # 0 when none: ids start at 1
    )
    .where(
        or_(
            models.Visit.clinic_id == bindparam("clinic"),
            models.Visit.practitioner_id.in_(bindparam("staff", expanding=True)),
        )
    )
)


def _active_visits(
    session: Session, window: Interval, ignore_visit: int | None, setup: ClinicSetup
) -> Sequence[Row[int, int | None, int | None, datetime, datetime]]:
    """Visits in the window that hold this clinic's rooms and devices or its practitioners (anywhere): the
    columns busy times need, not whole visits."""
    held = {
        "start": window.start,
        "end": window.end,
        "ignore": ignore_visit or 0,
        "clinic": setup.id,
        "staff": list(setup.staff_ids),
    }
    return session.execute(_HELD, held).all()


# Built once: a booking runs these every time, and building a statement costs more than running it.
_PATIENT_VISITS = (
    select(models.Visit.treatment_slug, models.Visit.start_at, models.Visit.end_at, models.Visit.area)
    .add_columns(models.Clinic.time_zone)
    .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
    .where(
        models.Visit.patient_id == bindparam("patient"),
        models.Visit.status.in_(ACTIVE),
        models.Visit.id != bindparam("ignore"),  # 0 when none: ids start at 1
    )
    .order_by(models.Visit.start_at)
)
_HAD_ELSEWHERE = select(
    models.PriorTreatment.treatment_slug, models.PriorTreatment.day, models.PriorTreatment.area
).where(models.PriorTreatment.patient_id == bindparam("patient"))
_FACTORS = (
    select(models.PatientFactor.factor_id)
    .where(models.PatientFactor.patient_id == bindparam("patient"), models.PatientFactor.active.is_(True))
    .order_by(models.PatientFactor.id)
)


def load_patient(
    session: Session, patient_id: int, *, ignore_visit: int | None = None, lock: bool = False
) -> tuple[models.Patient, PatientView]:
    """The patient with their whole history (done and booked visits, each on its clinic-zone day), active
    factors and busy times. `lock` takes the patient's row for the transaction, so two bookings for one
    patient run one after the other and neither misses the other's visit (PostgreSQL; SQLite's write
    transactions are serialised already)."""
    patient = session.get(models.Patient, patient_id, with_for_update=lock)
    if patient is None:
        raise NotFound("patient", f"no patient {patient_id}")
    history, busy = [], []
    visits = session.execute(_PATIENT_VISITS, {"patient": patient_id, "ignore": ignore_visit or 0})
    for slug, start, end, area, zone in visits:
        history.append(PastVisit(slug, clinic_day(start, clinic_zone(zone)), area))
        busy.append((start, end))
    history += (PastVisit(*row) for row in session.execute(_HAD_ELSEWHERE, {"patient": patient_id}))
    factors = tuple(session.scalars(_FACTORS, {"patient": patient_id}))
    return patient, PatientView(history=tuple(history), factors=factors, busy=_busy(busy))


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
