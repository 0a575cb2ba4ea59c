"""The store's rows as the domain's values: a clinic with its hours, closures, holidays, rooms, devices and
busy times; its practitioners; a patient with their history, factors and busy times.

Busy times are read for a stretch of time only, so what a use case loads follows its window, not the diary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from safewindow.clock import clinic_zone
from safewindow.domain import availability as domain
from safewindow.domain.advice import UnknownName
from safewindow.domain.history import PastVisit, clinic_day
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.slots import Patient as PatientView
from safewindow.domain.weekly_hours import WeeklyHours
from safewindow.services.errors import InputError, NotFound
from safewindow.store import models

ACTIVE = tuple(models.ACTIVE_STATUSES)


def bc_holidays(years: Iterable[int]) -> dict[date, str]:
    """British Columbia's statutory holidays (the `holidays` package, country CA, subdivision BC)."""
    return dict(holidays.country_holidays("CA", subdiv="BC", years=list(years)).items())


@dataclass(frozen=True)
class ClinicView:
    clinic: domain.Clinic
    row: models.Clinic
    practitioners: tuple[domain.Practitioner, ...]
    offered: dict[str, domain.OfferedTreatment]
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
            raise InputError("treatment", f"{self.row.name} does not offer {slug!r} (it offers {offered})") from None

    def practitioner(self, practitioner_id: str) -> domain.Practitioner:
        found = next((p for p in self.practitioners if p.id == practitioner_id), None)
        if found is None:
            raise InputError("practitioner", f"no practitioner {practitioner_id} works at {self.row.name}")
        return found


def _weekly(rows: Iterable[tuple[int, time, time]]) -> WeeklyHours:
    days: defaultdict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, start, end in rows:
        days[weekday].append((start, end))
    return WeeklyHours.of(days)


def _busy(rows: Iterable[tuple[datetime, datetime]]) -> BusyTimes:
    return BusyTimes.of(Interval(start, end) for start, end in rows)


def get_clinic(session: Session, clinic_id: int) -> models.Clinic:
    clinic = session.get(models.Clinic, clinic_id)
    if clinic is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    return clinic


def lock_clinic(session: Session, clinic_id: int) -> None:
    """Take the clinic's row and its practitioners' rows (by id) for this transaction, before busy times are
    read: the database refuses overlapping visits, but not a broken buffer, so two bookings at one clinic, or
    of one practitioner anywhere, must not both read the diary before either writes. Locks are always taken
    patient, visit, clinic, practitioners, so they cannot deadlock. SQLite ignores this: its write
    transactions are serialised already."""
    session.execute(select(models.Clinic.id).where(models.Clinic.id == clinic_id).with_for_update())
    staff = select(models.PractitionerHours.practitioner_id).where(models.PractitionerHours.clinic_id == clinic_id)
    session.execute(
        select(models.Practitioner.id)
        .where(models.Practitioner.id.in_(staff))
        .order_by(models.Practitioner.id)
        .with_for_update()
    )


def load_clinic(session: Session, clinic_id: int, window: Interval, *, ignore_visit: int | None = None) -> ClinicView:
    """The clinic as the domain sees it, with busy times within `window` (widen it by the longest buffer).
    `ignore_visit` leaves one visit out of every busy time: the one being moved."""
    row = session.scalars(
        select(models.Clinic)
        .where(models.Clinic.id == clinic_id)
        .options(
            selectinload(models.Clinic.hours),
            selectinload(models.Clinic.closures),
            selectinload(models.Clinic.rooms),
            selectinload(models.Clinic.devices),
            selectinload(models.Clinic.treatments),
            selectinload(models.Clinic.policy),
        )
    ).one_or_none()
    if row is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    zone = clinic_zone(row.time_zone)
    first, last = clinic_day(window.start, zone), clinic_day(window.end, zone)
    kept = {} if row.open_on_holidays else bc_holidays(range(first.year, last.year + 1))
    closed_days = set(kept)
    for closure in row.closures:
        day = max(closure.first_day, first)
        while day <= min(closure.last_day, last):
            closed_days.add(day)
            day += timedelta(days=1)

    staff = select(models.PractitionerHours.practitioner_id).where(models.PractitionerHours.clinic_id == clinic_id)
    visits = _active_visits(session, window, ignore_visit, clinic_id, staff)
    by_room: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_device: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_practitioner: defaultdict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for visit in visits:
        by_practitioner[visit.practitioner_id].append((visit.start_at, visit.end_at))
        if visit.room_id is not None:
            by_room[visit.room_id].append((visit.start_at, visit.end_at))
        if visit.device_id is not None:
            by_device[visit.device_id].append((visit.start_at, visit.end_at))

    clinic = domain.Clinic(
        id=str(row.id),
        zone=zone,
        opening=_weekly((h.weekday, h.opens, h.closes) for h in row.hours),
        closures=domain.Closures(dates=frozenset(closed_days)),
        rooms=tuple(domain.Room(str(r.id), r.kind, busy=_busy(by_room[r.id])) for r in row.rooms),
        devices=tuple(domain.Device(str(d.id), d.kind, busy=_busy(by_device[d.id])) for d in row.devices),
    )
    offered = {
        t.treatment_slug: domain.OfferedTreatment(
            t.treatment_slug,
            t.duration_minutes,
            t.buffer_before_minutes,
            t.buffer_after_minutes,
            frozenset({t.required_permission_id}) if t.required_permission_id else frozenset(),
            t.required_room_kind,
            t.required_device_kind,
        )
        for t in row.treatments
        if t.active
    }
    policy = row.policy
    return ClinicView(
        clinic=clinic,
        row=row,
        practitioners=_practitioners(session, row.id, window, by_practitioner),
        offered=offered,
        policy=domain.BookingPolicy(
            minimum_notice=timedelta(minutes=policy.min_notice_minutes if policy else 120),
            horizon_days=policy.horizon_days if policy else 90,
            step_minutes=policy.slot_step_minutes if policy else 15,
        ),
        holidays=kept,
    )


def _active_visits(
    session: Session, window: Interval, ignore_visit: int | None, clinic_id: int, staff: Select[Any]
) -> list[models.Visit]:
    """Visits in the window that hold this clinic's rooms and devices or its practitioners (anywhere)."""
    query = select(models.Visit).where(
        models.Visit.status.in_(ACTIVE),
        models.Visit.start_at < window.end,
        models.Visit.end_at > window.start,
        or_(models.Visit.clinic_id == clinic_id, models.Visit.practitioner_id.in_(staff)),
    )
    if ignore_visit is not None:
        query = query.where(models.Visit.id != ignore_visit)
    return list(session.scalars(query))


def _practitioners(
    session: Session, clinic_id: int, window: Interval, busy: dict[int, list[tuple[datetime, datetime]]]
) -> tuple[domain.Practitioner, ...]:
    """Everyone with hours at this clinic. Their permissions come from their qualifications' grants: who may
    do what is data. Their visits at every clinic count: one person, one place."""
    rows = session.scalars(
        select(models.Practitioner)
        .where(
            models.Practitioner.active.is_(True),
            models.Practitioner.id.in_(
                select(models.PractitionerHours.practitioner_id).where(models.PractitionerHours.clinic_id == clinic_id)
            ),
        )
        .options(
            selectinload(models.Practitioner.hours),
            selectinload(models.Practitioner.time_off),
            selectinload(models.Practitioner.qualifications).selectinload(models.Qualification.grants),
        )
        .order_by(models.Practitioner.id)
    )
    result = []
    for row in rows:
        hours: defaultdict[int, list[tuple[int, time, time]]] = defaultdict(list)
        for shift in row.hours:
            hours[shift.clinic_id].append((shift.weekday, shift.starts, shift.ends))
        result.append(
            domain.Practitioner(
                id=str(row.id),
                name=row.name,
                qualifications=permissions_of(row),
                hours={str(clinic): _weekly(shifts) for clinic, shifts in hours.items()},
                time_off=_busy(
                    (t.start_at, t.end_at) for t in row.time_off if t.start_at < window.end and t.end_at > window.start
                ),
                busy=_busy(busy.get(row.id, ())),
            )
        )
    return tuple(result)


def permissions_of(practitioner: models.Practitioner) -> frozenset[str]:
    return frozenset(grant.permission_id for q in practitioner.qualifications for grant in q.grants)


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
    query = (
        select(models.Visit, models.Clinic.time_zone)
        .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
        .where(models.Visit.patient_id == patient_id, models.Visit.status.in_(ACTIVE))
        .order_by(models.Visit.start_at)
    )
    if ignore_visit is not None:
        query = query.where(models.Visit.id != ignore_visit)
    history, busy = [], []
    for visit, zone in session.execute(query):
        history.append(PastVisit(visit.treatment_slug, clinic_day(visit.start_at, clinic_zone(zone)), visit.area))
        busy.append((visit.start_at, visit.end_at))
    for prior in session.scalars(select(models.PriorTreatment).where(models.PriorTreatment.patient_id == patient_id)):
        history.append(PastVisit(prior.treatment_slug, prior.day, prior.area))
    factors = tuple(f.factor_id for f in patient.factors if f.active)
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
