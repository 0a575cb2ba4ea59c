"""The clinic's diary as staff read it: a day or a week at one clinic, for everyone or for one practitioner or
one room. Plain rows for a table: each visit with its local times and names, and each day with its opening
hours or why it is closed (a BC statutory holiday, a closure, a weekday the clinic does not open)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from safewindow.clock import clinic_zone
from safewindow.domain.weekly_hours import ClinicDay
from safewindow.services.clinic_view import bc_holidays, get_clinic
from safewindow.services.errors import InputError
from safewindow.store import models

MAX_DAYS = 14  # a week view, with room to spare; a diary read is never open-ended


@dataclass(frozen=True, slots=True)
class Resource:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CalendarVisit:
    visit_id: int
    start: datetime  # in the clinic's zone
    end: datetime
    held_from: datetime  # with its set-up and clean-up: the practitioner and room are taken from and until
    held_until: datetime
    patient_id: int
    patient_name: str
    treatment: str  # knowledge-base slug
    practitioner: Resource
    room: Resource | None
    device: Resource | None
    status: str
    overridden: bool  # a practitioner booked it past a soft rule


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    opening: tuple[tuple[time, time], ...]  # empty when closed
    closed_because: str | None
    working: tuple[tuple[time, time], ...]  # the chosen practitioner's shifts here that day; empty without one
    visits: tuple[CalendarVisit, ...]


@dataclass(frozen=True)
class CalendarView:
    clinic: Resource
    zone: str
    days: tuple[CalendarDay, ...]
    practitioners: tuple[Resource, ...]  # everyone with hours at the clinic, for the page's filter
    rooms: tuple[Resource, ...]
    practitioner: Resource | None = None
    room: Resource | None = None


def week_of(day: date) -> date:
    """The Monday of the week `day` lies in."""
    return day - timedelta(days=day.weekday())


def clinic_calendar(
    session: Session,
    clinic_id: int,
    first_day: date,
    days: int = 1,
    *,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    with_cancelled: bool = False,
) -> CalendarView:
    if not 1 <= days <= MAX_DAYS:
        raise InputError("days", f"show 1 to {MAX_DAYS} days")
    clinic = get_clinic(session, clinic_id)
    zone = clinic_zone(clinic.time_zone)
    last_day = first_day + timedelta(days=days - 1)
    practitioners = _practitioners(session, clinic_id)
    rooms = tuple(Resource(r.id, r.name) for r in sorted(clinic.rooms, key=lambda r: r.id))
    practitioner = _chosen(practitioners, practitioner_id, "practitioner", clinic.name)
    room = _chosen(rooms, room_id, "room", clinic.name)

    query = (
        select(models.Visit)
        .where(
            models.Visit.clinic_id == clinic_id,
            models.Visit.start_at < ClinicDay(last_day + timedelta(days=1), zone).start,
            models.Visit.end_at > ClinicDay(first_day, zone).start,
        )
        .options(
            selectinload(models.Visit.patient),
            selectinload(models.Visit.practitioner),
            selectinload(models.Visit.room),
            selectinload(models.Visit.device),
            selectinload(models.Visit.overrides),
        )
        .order_by(models.Visit.start_at, models.Visit.id)
    )
    if not with_cancelled:
        query = query.where(models.Visit.status != models.VisitStatus.CANCELLED)
    if practitioner is not None:
        query = query.where(models.Visit.practitioner_id == practitioner.id)
    if room is not None:
        query = query.where(models.Visit.room_id == room.id)
    by_day: dict[date, list[CalendarVisit]] = {}
    for visit in session.scalars(query):
        start = visit.start_at.astimezone(zone)
        by_day.setdefault(start.date(), []).append(
            CalendarVisit(
                visit_id=visit.id,
                start=start,
                end=visit.end_at.astimezone(zone),
                held_from=visit.held_from.astimezone(zone),
                held_until=visit.held_until.astimezone(zone),
                patient_id=visit.patient_id,
                patient_name=visit.patient.name,
                treatment=visit.treatment_slug,
                practitioner=Resource(visit.practitioner.id, visit.practitioner.name),
                room=Resource(visit.room.id, visit.room.name) if visit.room else None,
                device=Resource(visit.device.id, visit.device.name) if visit.device else None,
                status=str(visit.status),
                overridden=bool(visit.overrides),
            )
        )

    closed = _closed_days(clinic, first_day, last_day)
    shifts = _shifts(session, clinic_id, practitioner.id) if practitioner is not None else {}
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        opening = tuple(sorted((h.opens, h.closes) for h in clinic.hours if h.weekday == day.weekday()))
        reason = closed.get(day) or (None if opening else f"the clinic does not open on {day:%A}s")
        result.append(
            CalendarDay(
                day=day,
                opening=() if reason else opening,
                closed_because=reason,
                working=() if reason else tuple(shifts.get(day.weekday(), ())),
                visits=tuple(by_day.get(day, ())),
            )
        )
    return CalendarView(
        clinic=Resource(clinic.id, clinic.name),
        zone=zone.key,
        days=tuple(result),
        practitioners=practitioners,
        rooms=rooms,
        practitioner=practitioner,
        room=room,
    )


def _practitioners(session: Session, clinic_id: int) -> tuple[Resource, ...]:
    rows = session.execute(
        select(models.Practitioner.id, models.Practitioner.name)
        .where(
            models.Practitioner.id.in_(
                select(models.PractitionerHours.practitioner_id).where(models.PractitionerHours.clinic_id == clinic_id)
            )
        )
        .order_by(models.Practitioner.name)
    )
    return tuple(Resource(pid, name) for pid, name in rows)


def _chosen(known: tuple[Resource, ...], wanted: int | None, field: str, clinic: str) -> Resource | None:
    if wanted is None:
        return None
    found = next((r for r in known if r.id == wanted), None)
    if found is None:
        raise InputError(field, f"no {field} {wanted} at {clinic}")
    return found


def _closed_days(clinic: models.Clinic, first: date, last: date) -> dict[date, str]:
    closed = {} if clinic.open_on_holidays else dict(bc_holidays(range(first.year, last.year + 1)))
    for closure in clinic.closures:
        day = max(closure.first_day, first)
        while day <= min(closure.last_day, last):
            closed.setdefault(day, closure.reason)
            day += timedelta(days=1)
    return {day: reason for day, reason in closed.items() if first <= day <= last}


def _shifts(session: Session, clinic_id: int, practitioner_id: int) -> dict[int, list[tuple[time, time]]]:
    shifts: dict[int, list[tuple[time, time]]] = {}
    for row in session.scalars(
        select(models.PractitionerHours)
        .where(
            models.PractitionerHours.clinic_id == clinic_id,
            models.PractitionerHours.practitioner_id == practitioner_id,
        )
        .order_by(models.PractitionerHours.starts)
    ):
        shifts.setdefault(row.weekday, []).append((row.starts, row.ends))
    return shifts
