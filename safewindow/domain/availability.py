"""Who and what a visit needs, and when each is free: the clinic with its hours, closures, rooms and devices;
practitioners with their qualifications and working hours per clinic; the treatment as the clinic offers it;
and the booking policy. The slot finder and the booking check both read free time from here, so what one
offers the other accepts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from safewindow.domain.intervals import BusyTimes, Interval, intersect, subtract
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours

NOT_BUSY = BusyTimes()
# A visit's length and each buffer, in minutes, at most: a booking reads busy times a day either side of the visit,
# so whatever holds a practitioner, room or device must fit in that (the longest treatment known takes 120).
LONGEST_VISIT_MINUTES = 480
LONGEST_BUFFER_MINUTES = 120


@dataclass(frozen=True, slots=True)
class Closures:
    """Whole days the clinic is closed (the statutory holidays it keeps, computed by the caller, and its own
    closed days) and closed stretches within days (a training afternoon)."""

    dates: frozenset[date] = frozenset()
    times: BusyTimes = NOT_BUSY


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    kind: str  # "treatment", "laser", ...
    devices: frozenset[str] = frozenset()  # kinds of device fixed in the room: booked with the room
    busy: BusyTimes = NOT_BUSY


@dataclass(frozen=True, slots=True)
class Device:
    """Equipment shared between rooms (the clinic's one laser, wheeled where it is needed)."""

    id: str
    kind: str
    busy: BusyTimes = NOT_BUSY


@dataclass(frozen=True, slots=True)
class Clinic:
    id: str
    zone: ZoneInfo
    opening: WeeklyHours
    closures: Closures = Closures()
    rooms: tuple[Room, ...] = ()
    devices: tuple[Device, ...] = ()
    rooms_of_kind: Mapping[str, tuple[Room, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for what, ids in (("room", [r.id for r in self.rooms]), ("device", [d.id for d in self.devices])):
            if len(set(ids)) != len(ids):
                raise ValueError(f"clinic {self.id}: {what} ids must be unique")
        kinds: dict[str, list[Room]] = {}
        for room in self.rooms:
            kinds.setdefault(room.kind, []).append(room)
        object.__setattr__(self, "rooms_of_kind", {kind: tuple(rooms) for kind, rooms in kinds.items()})

    def room(self, room_id: str) -> Room | None:
        return next((room for room in self.rooms if room.id == room_id), None)

    def device(self, device_id: str) -> Device | None:
        return next((device for device in self.devices if device.id == device_id), None)

    def open_times(self, day: ClinicDay) -> list[Interval]:
        """When the clinic is open on `day`: its hours less its closures."""
        if day.day in self.closures.dates:
            return []
        return list(subtract(self.opening.on(day), self.closures.times))


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: `hours` is a mapping, so no hash
class Practitioner:
    id: str
    name: str
    qualifications: frozenset[str]
    hours: Mapping[str, WeeklyHours]  # clinic id -> working hours there
    time_off: BusyTimes = NOT_BUSY
    busy: BusyTimes = NOT_BUSY  # active visits at every clinic: one person, one place
    # What they may do only on an authorized prescriber's client-specific order for the patient (a registered
    # nurse's injections in BC); `qualifications` holds what they may do in their own right.
    on_order: frozenset[str] = frozenset()

    def qualified_for(self, treatment: OfferedTreatment) -> bool:
        """In their own right: they may do it for anyone, and override its soft rules."""
        return not treatment.qualifications or not self.qualifications.isdisjoint(treatment.qualifications)

    def needs_order_for(self, treatment: OfferedTreatment) -> bool:
        """They may do it only for a patient with a prescriber's order for it."""
        return not self.qualified_for(treatment) and not self.on_order.isdisjoint(treatment.qualifications)


def working_times(hours: WeeklyHours, day: ClinicDay, open_times: list[Interval]) -> list[Interval]:
    """Working hours on `day` inside the clinic's open times. Many practitioners share one pattern of hours,
    so callers may work this out once per pattern and day."""
    return intersect(open_times, hours.on(day)) if open_times else []


@dataclass(frozen=True, slots=True)
class OfferedTreatment:
    """A treatment as one clinic offers it. Buffers keep other bookings of the practitioner, room and device
    that far away (set-up, cleaning); the visit itself must lie within hours."""

    slug: str
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    qualifications: frozenset[str] = frozenset()  # any one qualifies; none needed when empty
    room_kind: str | None = None  # None: no room is booked (a video consultation)
    device_kind: str | None = None
    duration: timedelta = field(init=False, repr=False, compare=False)
    before: timedelta = field(init=False, repr=False, compare=False)
    after: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.duration_minutes <= LONGEST_VISIT_MINUTES:
            raise ValueError(f"{self.slug}: duration_minutes must be 1 to {LONGEST_VISIT_MINUTES}")
        for buffer in (self.buffer_before_minutes, self.buffer_after_minutes):
            if not 0 <= buffer <= LONGEST_BUFFER_MINUTES:
                raise ValueError(f"{self.slug}: buffers must be 0 to {LONGEST_BUFFER_MINUTES} minutes")
        object.__setattr__(self, "duration", timedelta(minutes=self.duration_minutes))
        object.__setattr__(self, "before", timedelta(minutes=self.buffer_before_minutes))
        object.__setattr__(self, "after", timedelta(minutes=self.buffer_after_minutes))

    def occupies(self, start: datetime) -> tuple[datetime, datetime]:
        """The stretch a visit starting at `start` keeps its practitioner, room and device, buffers included."""
        return start - self.before, start + self.duration + self.after


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    minimum_notice: timedelta = timedelta(hours=2)
    horizon_days: int = 90  # the last bookable day is today + horizon_days, in the clinic's zone
    step_minutes: int = 15  # slots start on this grid from local midnight
    # A patient may cancel or move a visit themselves until this long before it; then only the clinic's staff.
    change_notice: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.minimum_notice < timedelta(0) or self.horizon_days < 0 or self.change_notice < timedelta(0):
            raise ValueError("minimum_notice, horizon_days and change_notice cannot be negative")
        if self.step_minutes <= 0:
            raise ValueError("step_minutes must be positive")

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.step_minutes)

    def online_changes_close(self, start: datetime) -> datetime:
        """Until when the patient may cancel or move, themselves, a visit that begins at `start`."""
        return start - self.change_notice


DEFAULT_POLICY = BookingPolicy()


def notice_in_words(span: timedelta) -> str:
    """Notice as clinics put it: 90 minutes, 2 hours, 48 hours, 3 days."""
    minutes = int(span.total_seconds() // 60)
    if minutes >= 3 * 24 * 60 and minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} days"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def changes_close_in_words(change_notice: timedelta) -> str:
    """Until when a patient may change a visit online: 24 hours before it begins, or until it begins."""
    return f"{notice_in_words(change_notice)} before it begins" if change_notice else "it begins"


@dataclass(frozen=True, slots=True)
class Equipment:
    """The room and shared device a visit would take; None where none is needed (or the room has the device)."""

    room: Room | None
    device: Device | None


def free_equipment(clinic: Clinic, treatment: OfferedTreatment, start: datetime) -> Equipment | None:
    """The first room of the needed kind (by the clinic's order) free for the visit and its buffers, with a
    free device of the needed kind unless that room has one fixed; None when nothing fits."""
    since, until = treatment.occupies(start)
    kind = treatment.device_kind
    device: Device | None = None
    device_looked = False
    rooms: tuple[Room | None, ...] = (
        (None,) if treatment.room_kind is None else clinic.rooms_of_kind.get(treatment.room_kind, ())
    )
    for room in rooms:
        if room is not None and not room.busy.is_free(since, until):
            continue
        if kind is None or (room is not None and kind in room.devices):
            return Equipment(room, None)
        if not device_looked:
            device_looked = True
            device = next((d for d in clinic.devices if d.kind == kind and d.busy.is_free(since, until)), None)
        if device is not None:
            return Equipment(room, device)
    return None
