"""Bookable slots, earliest first: each qualified practitioner's working hours within the clinic's open times
(one who gives the treatment only on a prescriber's order: on the days the patient's order covers), less time
off and their visits (kept off by the treatment's buffers), cut on the step grid, kept within notice and
horizon, given a free room and device, and, for a patient, only on days their history allows.

The finder walks one calendar day at a time and stops at `limit`. Each practitioner waits under the earliest
time they could start and is looked up only when that comes next: a bisection in their diary (and its index of
the gaps between visits, past a packed morning) gives their first start and the free stretch it begins, every
grid line of which is a start with no further lookup. So the cost follows the practitioners and starts looked
at, not the size of the diary nor the booked time between its usable gaps. The patient's timing rules are asked
once per day. The store still has the last word: a slot is an offer, not a hold."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import islice

from safewindow.domain.advice import Advice, Reason, Severity, Verdict, advise
from safewindow.domain.availability import (
    DEFAULT_POLICY,
    NOT_BUSY,
    BookingPolicy,
    Clinic,
    Equipment,
    OfferedTreatment,
    Practitioner,
    free_equipment,
)
from safewindow.domain.history import DEFAULT_AREA, PastVisit, clinic_day
from safewindow.domain.intervals import BusyTimes
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.openings import openings
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours


class Fit(StrEnum):
    IDEAL = "ideal"  # inside the ideal window, or no window and nothing to warn about
    ALLOWED = "allowed"  # allowed, with the warnings that say why it is not ideal


@dataclass(frozen=True, slots=True)
class Patient:
    """What the finder needs to know of the patient: visits done and booked (on their clinic-zone days),
    personal factor ids, the treated area, when they are already booked, and the last day each treatment a
    prescriber has ordered for them is covered (practitioners who give it only on an order offer it until then)."""

    history: tuple[PastVisit, ...] = ()
    factors: tuple[str, ...] = ()
    area: str = DEFAULT_AREA
    busy: BusyTimes = NOT_BUSY
    orders: Mapping[str, date] = field(default_factory=dict)  # treatment slug -> last day covered


@dataclass(frozen=True, slots=True)
class SlotRequest:
    clinic: Clinic
    treatment: OfferedTreatment
    practitioners: tuple[Practitioner, ...]  # everyone who might do it; the unqualified are skipped, and
    # those who give it only on a prescriber's order are kept for the days the patient's order covers
    now: datetime
    policy: BookingPolicy = DEFAULT_POLICY
    limit: int = 10
    practitioner_id: str | None = None  # only this practitioner
    patient: Patient | None = None
    knowledge: KnowledgeBase | None = None  # needed with a patient: their timing rules
    first_day: date | None = None  # look from this clinic-zone day on (a date picker); never before today
    last_day: date | None = None  # and up to this one; never past the horizon

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if self.limit < 0:
            raise ValueError("limit cannot be negative")
        if self.patient is not None and self.knowledge is None:
            raise ValueError("knowledge is needed to check a patient's timing rules")
        ids = [p.id for p in self.practitioners]
        if len(set(ids)) != len(ids):
            raise ValueError("practitioner ids must be unique")
        if self.practitioner_id is not None and self.practitioner_id not in ids:
            raise ValueError(f"practitioner_id: no practitioner {self.practitioner_id!r} among those given")


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # UTC
    end: datetime  # UTC, the end of the treatment itself (buffers not included)
    practitioner_id: str
    room_id: str | None  # None when the treatment needs no room
    device_id: str | None  # a shared device; None when none is needed or the room has it fixed
    fit: Fit | None  # None when no patient was given, so timing was not checked
    warnings: tuple[Reason, ...] = ()


def find_slots(request: SlotRequest) -> list[Slot]:
    """Up to `request.limit` slots, earliest first; at one start, by practitioner id."""
    return list(islice(_slots(request), request.limit))


def _slots(request: SlotRequest) -> Iterator[Slot]:
    clinic, policy = request.clinic, request.policy
    treatment = request.treatment
    order_until = request.patient.orders.get(treatment.slug) if request.patient is not None else None
    own: list[tuple[Practitioner, WeeklyHours]] = []  # in their own right
    on_order: list[tuple[Practitioner, WeeklyHours]] = []  # on the patient's order, while it covers the day
    for p in request.practitioners:
        if clinic.id not in p.hours or (request.practitioner_id is not None and p.id != request.practitioner_id):
            continue
        if p.qualified_for(treatment):
            own.append((p, p.hours[clinic.id]))
        elif order_until is not None and p.needs_order_for(treatment):
            on_order.append((p, p.hours[clinic.id]))
    on_weekday = [[(p, hours) for p, hours in own if hours.days[weekday]] for weekday in range(7)]
    ordered_on_weekday = [[(p, hours) for p, hours in on_order if hours.days[weekday]] for weekday in range(7)]
    today = clinic_day(request.now, clinic.zone)
    earliest = request.now + policy.minimum_notice
    day = max(today, clinic_day(earliest, clinic.zone), request.first_day or today)
    last = today + timedelta(days=policy.horizon_days)
    if request.last_day is not None:
        last = min(last, request.last_day)
    while day <= last:
        here = on_weekday[day.weekday()]
        if order_until is not None and day <= order_until and ordered_on_weekday[day.weekday()]:
            here = here + ordered_on_weekday[day.weekday()]
        if not here or day in clinic.closures.dates:
            day += timedelta(days=1)
            continue
        advice = _advice(request, today, day)
        if advice is not None:
            if not advice.allowed:
                return  # a factor or a session limit blocks every day alike
            if advice.earliest_bookable is not None and advice.earliest_bookable > day:
                day = advice.earliest_bookable  # the advisor's first allowed day from today: none before it is
                continue
            if advice.verdict is Verdict.BLOCK:
                day += timedelta(days=1)
                continue
        yield from _day_slots(request, ClinicDay(day, clinic.zone), here, earliest, advice)
        day += timedelta(days=1)


def _day_slots(
    request: SlotRequest,
    day: ClinicDay,
    staff: list[tuple[Practitioner, WeeklyHours]],
    earliest: datetime,
    advice: Advice | None,
) -> Iterator[Slot]:
    clinic, treatment = request.clinic, request.treatment
    open_times = clinic.open_times(day)
    if not open_times:
        return
    fit, warnings = _fit(advice, day.day)
    equipment_at: dict[datetime, Equipment | None] = {}  # the same for every practitioner at one start
    patient_busy = request.patient.busy if request.patient is not None else NOT_BUSY
    found = openings(
        day, open_times, staff, treatment, step=request.policy.step, earliest=earliest, patient_busy=patient_busy
    )
    for start, practitioner in found:
        if start in equipment_at:
            equipment = equipment_at[start]
        else:
            equipment = equipment_at[start] = free_equipment(clinic, treatment, start)
        if equipment is not None:
            yield Slot(
                start,
                start + treatment.duration,
                practitioner.id,
                equipment.room.id if equipment.room else None,
                equipment.device.id if equipment.device else None,
                fit,
                warnings,
            )


def _advice(request: SlotRequest, today: date, day: date) -> Advice | None:
    """The patient's timing rules on `day`, asked once per day; None without a patient."""
    patient, knowledge = request.patient, request.knowledge
    if patient is None or knowledge is None:
        return None
    return advise(
        knowledge, request.treatment.slug, patient.history, patient.factors, today=today, on=day, area=patient.area
    )


def _fit(advice: Advice | None, day: date) -> tuple[Fit | None, tuple[Reason, ...]]:
    if advice is None:
        return None, ()
    warnings = tuple(r for r in advice.reasons if r.severity is Severity.WARN)
    if advice.ideal_start is not None and advice.ideal_end is not None:
        ideal = advice.ideal_start <= day <= advice.ideal_end
    else:
        ideal = advice.verdict is Verdict.OK
    return (Fit.IDEAL if ideal else Fit.ALLOWED), warnings
