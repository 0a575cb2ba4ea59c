"""When each practitioner could start a visit on one clinic day: their working times less time off, the
patient's other bookings and the time their own visits hold (each with its buffers, kept off by this
treatment's buffers), on the step grid; and all
of them merged, earliest first, lazily, so the finder pays only for the starts it looks at.

A practitioner's starts are found a stretch at a time: from any instant, a bisection in each diary (and its
index of gaps, past a packed stretch) gives the first start and how far the free stretch it begins reaches;
every grid line in that stretch is a start too, with no further lookup. Nothing is built for a practitioner
beforehand, so asking whether one more practitioner is free at the time on top costs those lookups alone. The
lookups work in ticks (see `intervals`): plain numbers are added and rounded to the grid far faster than
datetimes."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta

from safewindow.domain.availability import NOT_BUSY, OfferedTreatment, Practitioner, working_times
from safewindow.domain.intervals import TICK, BusyTimes, Interval, from_ticks, ticks
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours

Pieces = list[tuple[int, int]]  # stretches of working time, as (start, end) in ticks


def openings(
    day: ClinicDay,
    open_times: list[Interval],
    staff: list[tuple[Practitioner, WeeklyHours]],
    treatment: OfferedTreatment,
    *,
    step: timedelta,
    earliest: datetime,
    patient_busy: BusyTimes = NOT_BUSY,
) -> Iterator[tuple[datetime, Practitioner]]:
    """Every start on `day` for each practitioner with the hours given beside them (at this clinic, with
    hours that day), earliest first, then by practitioner id. Each waits in the heap under a time they cannot
    start before (their first hour, the opening, the notice; after a start, the next grid line) and is only
    looked up when that comes first: once the finder has enough, a practitioner who starts later has cost
    nothing, and one free at the time on top has cost a bisection or two."""
    if not open_times or not staff:
        return
    rules = _Rules(day, treatment, step, patient_busy)
    opens, weekday = max(open_times[0].start, earliest), day.day.weekday()
    # Many practitioners share one pattern of hours (by its id): its first start and working times, once.
    first_of: dict[int, int] = {}
    working: dict[int, Pieces] = {}
    # Each entry: (no start before, practitioner id, index in staff, end of the free stretch known to hold
    # it). That stretch starts out empty, so the first time on top the practitioner is looked up.
    heap = []
    for n, (p, hours) in enumerate(staff):
        first = first_of.get(id(hours))
        if first is None:
            first = first_of[id(hours)] = rules.on_grid(ticks(max(day.at(hours.days[weekday][0][0]), opens)))
        heap.append((first, p.id, n, first))
    heapq.heapify(heap)
    duration, step_ticks = rules.duration, rules.step
    while heap:
        start, practitioner_id, n, until = heap[0]
        practitioner, hours = staff[n]
        if start + duration > until:  # not known to be a start: look it up
            within = working.get(id(hours))
            if within is None:
                within = working[id(hours)] = _pieces(working_times(hours, day, open_times))
            found = rules.first_stretch(practitioner, within, start)
            if found is None:
                heapq.heappop(heap)
                continue
            first, until = found
            if first != start:  # later: others may come first
                heapq.heapreplace(heap, (first, practitioner_id, n, until))
                continue
        yield from_ticks(start), practitioner
        heapq.heapreplace(heap, (start + step_ticks, practitioner_id, n, until))


def practitioner_openings(
    practitioner: Practitioner,
    day: ClinicDay,
    within: list[Interval],
    treatment: OfferedTreatment,
    *,
    step: timedelta,
    earliest: datetime,
    patient_busy: BusyTimes = NOT_BUSY,
) -> Iterator[datetime]:
    """One practitioner's starts on `day` `within` their working times, in order, on the grid from local
    midnight, from `earliest` on: each free stretch, grid line by grid line, then a lookup for the next."""
    rules, pieces = _Rules(day, treatment, step, patient_busy), _pieces(within)
    found = rules.first_stretch(practitioner, pieces, rules.on_grid(ticks(earliest)))
    while found is not None:
        start, until = found
        while start + rules.duration <= until:
            yield from_ticks(start)
            start += rules.step
        found = rules.first_stretch(practitioner, pieces, start)


def _pieces(within: list[Interval]) -> Pieces:
    return [(ticks(piece.start), ticks(piece.end)) for piece in within]


class _Rules:
    """What a start must satisfy on one day, for one treatment and patient, in ticks: on the grid from local
    midnight, with the whole visit inside one stretch of working time, clear of time off and the patient's
    other bookings, and with its buffers clear of what the practitioner's other visits hold."""

    __slots__ = ("after", "before", "duration", "grid", "plain", "step", "wanted")

    def __init__(self, day: ClinicDay, treatment: OfferedTreatment, step: timedelta, patient_busy: BusyTimes) -> None:
        self.duration = treatment.duration // TICK
        self.before, self.after = treatment.before // TICK, treatment.after // TICK
        self.wanted = self.before + self.duration + self.after  # to their other visits, a visit reaches that far
        self.grid, self.step = ticks(day.start), step // TICK
        self.plain = (patient_busy,) if patient_busy.intervals else ()

    def first_stretch(self, practitioner: Practitioner, within: Pieces, since: int) -> tuple[int, int] | None:
        """The first start at or after `since` (a grid line, not before the notice) and the end of the free
        stretch it begins: every grid line from it that lets the visit end by then is a start too. None when
        no start is left `within` the working times."""
        duration, before, after, grid, step = self.duration, self.before, self.after, self.grid, self.step
        busy, time_off = practitioner.busy, practitioner.time_off
        # Time off and the patient's bookings hold the visit itself, no buffers; most are empty.
        plain = (time_off, *self.plain) if time_off.intervals else self.plain
        start = since
        clear_from = clear_until = since  # a stretch known clear of the practitioner's visits: none yet
        for piece_start, piece_end in within:
            if start < piece_start:
                start = self.on_grid(piece_start)
            while start + duration <= piece_end:
                # Each diary in turn: one in the way moves the start past it, to the first grid line its gaps
                # allow, and every diary is asked again from there; the practitioner's own only once the start
                # has left the stretch found clear of their visits.
                if start - before < clear_from or start + duration + after > clear_until:
                    first, clear_until = busy.first_clear(start, before, self.wanted, grid, step)
                    clear_from = first - before
                    if first > start:
                        start = first
                        continue
                until = min(piece_end, clear_until - after)
                for diary in plain:
                    first, free_until = diary.first_clear(start, 0, duration, grid, step)
                    if first > start:
                        start = first
                        break
                    until = min(until, free_until)
                else:
                    return start, until
        return None

    def on_grid(self, instant: int) -> int:
        """The first grid line at or after `instant`."""
        return instant + (self.grid - instant) % self.step
