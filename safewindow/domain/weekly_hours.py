"""Opening and working hours: local times per weekday, turned into UTC instants one calendar day at a time in
the clinic's zone, so a 10:00 start follows whatever offset the zone has that day (UTC-7 all year from
2026-11-01 in British Columbia, UTC-8/-7 before)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from safewindow.domain.intervals import Interval

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Shift = tuple[time, time]  # local start, local end, on one day


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Seven entries, Monday first (as `date.weekday()`), each the day's local (start, end) pairs in order."""

    days: tuple[tuple[Shift, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError(f"weekly hours need 7 days, Monday first; got {len(self.days)}")
        for name, shifts in zip(WEEKDAYS, self.days, strict=True):
            ordered = sorted(shifts)
            for start, end in ordered:
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{name}: hours are local times, without a zone")
                if start >= end:
                    raise ValueError(f"{name}: {start:%H:%M} - {end:%H:%M} must start before it ends")
            for (_, end), (start, _) in pairwise(ordered):
                if start < end:
                    raise ValueError(f"{name}: hours overlap at {start:%H:%M}")
        object.__setattr__(self, "days", tuple(_joined(sorted(shifts)) for shifts in self.days))

    @classmethod
    def of(cls, hours: Mapping[int, Iterable[Shift]]) -> WeeklyHours:
        """From weekday number (0 = Monday) to that day's shifts; missing days are closed."""
        if any(not 0 <= weekday <= 6 for weekday in hours):
            raise ValueError("weekdays are numbered 0 (Monday) to 6 (Sunday)")
        return cls(tuple(tuple(hours.get(weekday, ())) for weekday in range(7)))

    @classmethod
    def every(cls, weekdays: Iterable[int], start: time, end: time) -> WeeklyHours:
        """The same hours on each of `weekdays`, e.g. `every(range(5), time(9), time(17))`."""
        return cls.of({weekday: [(start, end)] for weekday in weekdays})

    def on(self, day: ClinicDay) -> list[Interval]:
        return [Interval(day.at(start), day.at(end)) for start, end in self.days[day.day.weekday()]]

    def has_hours(self, day: date) -> bool:
        return bool(self.days[day.weekday()])


def _joined(shifts: list[Shift]) -> tuple[Shift, ...]:
    """Shifts that touch (09:00-12:00, 12:00-17:00) become one, so a visit may run across the seam."""
    joined: list[Shift] = []
    for start, end in shifts:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return tuple(joined)


CLOSED = WeeklyHours.of({})


@dataclass(frozen=True, slots=True)
class ClinicDay:
    """One calendar day in the clinic's zone, turning its local times into UTC instants (remembered, since
    every practitioner's hours on the day ask for the same few times)."""

    day: date
    zone: ZoneInfo
    _instants: dict[time, datetime] = field(default_factory=dict, init=False, repr=False, compare=False)

    def at(self, local: time) -> datetime:
        instant = self._instants.get(local)
        if instant is None:
            instant = datetime.combine(self.day, local, tzinfo=self.zone).astimezone(UTC)
            self._instants[local] = instant
        return instant

    @property
    def start(self) -> datetime:
        """Local midnight, in UTC."""
        return self.at(time(0))

    def whole(self) -> Interval:
        """Midnight to midnight: 23, 24 or 25 hours, as the zone's rules make that day."""
        following = datetime.combine(self.day + timedelta(days=1), time(0), tzinfo=self.zone)
        return Interval(self.start, following.astimezone(UTC))
