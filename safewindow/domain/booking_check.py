"""Every reason one proposed visit (practitioner, room, device, start) cannot be booked, by the same rules the
slot finder offers slots by. The booking service calls it, then the advisor, inside its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from safewindow.domain.availability import (
    DEFAULT_POLICY,
    NOT_BUSY,
    BookingPolicy,
    Clinic,
    OfferedTreatment,
    Practitioner,
    notice_in_words,
)
from safewindow.domain.history import clinic_day
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.weekly_hours import ClinicDay


class Refused(StrEnum):
    TOO_SOON = "too-soon"
    BEYOND_HORIZON = "beyond-horizon"
    CLINIC_CLOSED_DAY = "clinic-closed-day"  # a holiday the clinic keeps, or a closed date
    OUTSIDE_OPENING_HOURS = "outside-opening-hours"
    CLINIC_CLOSURE = "clinic-closure"
    NOT_QUALIFIED = "practitioner-not-qualified"
    NEEDS_ORDER = "practitioner-needs-order"  # gives it only on a prescriber's order, and none covers the day
    NOT_WORKING = "practitioner-not-working"
    PRACTITIONER_OFF = "practitioner-off"
    PRACTITIONER_BUSY = "practitioner-busy"
    PRACTITIONER_BUFFER = "practitioner-buffer"
    ROOM_NEEDED = "room-needed"
    ROOM_NOT_NEEDED = "room-not-needed"
    ROOM_UNKNOWN = "room-unknown"
    ROOM_WRONG_KIND = "room-wrong-kind"
    ROOM_BUSY = "room-busy"
    ROOM_BUFFER = "room-buffer"
    DEVICE_NEEDED = "device-needed"
    DEVICE_UNKNOWN = "device-unknown"
    DEVICE_WRONG_KIND = "device-wrong-kind"
    DEVICE_BUSY = "device-busy"
    DEVICE_BUFFER = "device-buffer"
    PATIENT_BUSY = "patient-busy"


@dataclass(frozen=True, slots=True)
class Refusal:
    code: Refused
    message: str


def check_booking(
    clinic: Clinic,
    treatment: OfferedTreatment,
    practitioner: Practitioner,
    start: datetime,
    *,
    now: datetime,
    policy: BookingPolicy = DEFAULT_POLICY,
    room_id: str | None = None,
    device_id: str | None = None,
    patient_busy: BusyTimes = NOT_BUSY,
    order_until: date | None = None,
) -> list[Refusal]:
    """Every refusal; an empty list means the time is free by everything the domain knows (the store's
    constraint still decides a race). The patient's timing rules are the advisor's to check, not this.
    `order_until`: the last day the patient's prescriber's orders for the treatment cover, if any."""
    if start.tzinfo is None or now.tzinfo is None:
        raise ValueError("start and now must be timezone-aware")
    visit = _Visit(clinic, treatment, start.astimezone(UTC))
    refusals = _timing(visit, policy, now) + _clinic_hours(visit) + _practitioner(visit, practitioner, order_until)
    refusals += _room(visit, room_id) + _device(visit, device_id, room_id)
    if not patient_busy.is_free(visit.start, visit.end):
        refusals.append(Refusal(Refused.PATIENT_BUSY, f"The patient is already booked during {visit.when}."))
    return refusals


class _Visit:
    """The proposed visit, with the stretch it holds its resources (buffers included) and its clinic day."""

    def __init__(self, clinic: Clinic, treatment: OfferedTreatment, start: datetime) -> None:
        self.clinic, self.treatment = clinic, treatment
        self.start, self.end = start, start + treatment.duration
        self.span = Interval(self.start, self.end)
        self.held_from, self.held_until = treatment.occupies(start)
        self.day = ClinicDay(clinic_day(start, clinic.zone), clinic.zone)
        self.when = f"{self.local(self.start):%Y-%m-%d %H:%M}-{self.local(self.end):%H:%M}"

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.clinic.zone)

    def within(self, intervals: list[Interval]) -> bool:
        return any(interval.contains(self.span) for interval in intervals)

    def clash(self, busy: BusyTimes, who: str, taken: Refused, buffer: Refused) -> list[Refusal]:
        if not busy.is_free(self.start, self.end):
            return [Refusal(taken, f"{who} is booked during {self.when} (a visit, or its set-up or clean-up).")]
        if not busy.is_free(self.held_from, self.held_until):
            return [
                Refusal(
                    buffer,
                    f"{who} is booked too close to {self.when}: {self.treatment.slug} needs it "
                    f"clear from {self.local(self.held_from):%H:%M} to "
                    f"{self.local(self.held_until):%H:%M}, buffers included.",
                )
            ]
        return []


def _timing(visit: _Visit, policy: BookingPolicy, now: datetime) -> list[Refusal]:
    refusals = []
    if visit.start < now + policy.minimum_notice:
        refusals.append(
            Refusal(Refused.TOO_SOON, f"{visit.when} is less than {notice_in_words(policy.minimum_notice)} from now.")
        )
    last = clinic_day(now, visit.clinic.zone) + timedelta(days=policy.horizon_days)
    if visit.day.day > last:
        refusals.append(
            Refusal(Refused.BEYOND_HORIZON, f"Bookings open {policy.horizon_days} days ahead, up to {last}.")
        )
    return refusals


def _clinic_hours(visit: _Visit) -> list[Refusal]:
    clinic, refusals = visit.clinic, []
    if visit.day.day in clinic.closures.dates:
        refusals.append(Refusal(Refused.CLINIC_CLOSED_DAY, f"The clinic is closed on {visit.day.day}."))
    elif not visit.within(clinic.opening.on(visit.day)):
        refusals.append(Refusal(Refused.OUTSIDE_OPENING_HOURS, f"{visit.when} is outside the opening hours."))
    if not clinic.closures.times.is_free(visit.start, visit.end):
        refusals.append(Refusal(Refused.CLINIC_CLOSURE, f"The clinic is closed during part of {visit.when}."))
    return refusals


def _practitioner(visit: _Visit, practitioner: Practitioner, order_until: date | None) -> list[Refusal]:
    who, treatment, refusals = practitioner.name, visit.treatment, []
    if practitioner.needs_order_for(treatment):
        if order_until is None or order_until < visit.day.day:
            covers = "the patient has none" if order_until is None else f"the patient's covers visits to {order_until}"
            refusals.append(
                Refusal(
                    Refused.NEEDS_ORDER,
                    f"{who} gives {treatment.slug} only on an authorized prescriber's order for the patient, and "
                    f"{covers}.",
                )
            )
    elif not practitioner.qualified_for(treatment):
        needed = " or ".join(sorted(treatment.qualifications))
        refusals.append(
            Refusal(Refused.NOT_QUALIFIED, f"{who} is not qualified for {treatment.slug} (it needs {needed}).")
        )
    hours = practitioner.hours.get(visit.clinic.id)
    if hours is None or not visit.within(hours.on(visit.day)):
        refusals.append(Refusal(Refused.NOT_WORKING, f"{who} does not work here at {visit.when}."))
    if not practitioner.time_off.is_free(visit.start, visit.end):
        refusals.append(Refusal(Refused.PRACTITIONER_OFF, f"{who} is off during {visit.when}."))
    return refusals + visit.clash(practitioner.busy, who, Refused.PRACTITIONER_BUSY, Refused.PRACTITIONER_BUFFER)


def _room(visit: _Visit, room_id: str | None) -> list[Refusal]:
    kind = visit.treatment.room_kind
    if room_id is None:
        return [] if kind is None else [Refusal(Refused.ROOM_NEEDED, f"{visit.treatment.slug} needs a {kind} room.")]
    if kind is None:  # as the finder offers it: no room, so a device must be a shared one
        return [Refusal(Refused.ROOM_NOT_NEEDED, f"{visit.treatment.slug} does not book a room.")]
    room = visit.clinic.room(room_id)
    if room is None:
        return [Refusal(Refused.ROOM_UNKNOWN, f"The clinic has no room {room_id!r}.")]
    refusals = []
    if room.kind != kind:
        refusals.append(
            Refusal(
                Refused.ROOM_WRONG_KIND, f"{visit.treatment.slug} needs a {kind} room; {room.id} is a {room.kind} room."
            )
        )
    return refusals + visit.clash(room.busy, f"Room {room.id}", Refused.ROOM_BUSY, Refused.ROOM_BUFFER)


def _device(visit: _Visit, device_id: str | None, room_id: str | None) -> list[Refusal]:
    kind, slug = visit.treatment.device_kind, visit.treatment.slug
    if device_id is None:
        room = visit.clinic.room(room_id) if room_id is not None and visit.treatment.room_kind else None
        if kind is None or (room is not None and kind in room.devices):
            return []
        return [Refusal(Refused.DEVICE_NEEDED, f"{slug} needs a {kind}, and none is booked with it.")]
    device = visit.clinic.device(device_id)
    if device is None:
        return [Refusal(Refused.DEVICE_UNKNOWN, f"The clinic has no device {device_id!r}.")]
    refusals = []
    if kind is not None and device.kind != kind:
        refusals.append(Refusal(Refused.DEVICE_WRONG_KIND, f"{slug} needs a {kind}; {device.id} is a {device.kind}."))
    return refusals + visit.clash(
        device.busy, f"The {device.kind} {device.id}", Refused.DEVICE_BUSY, Refused.DEVICE_BUFFER
    )
