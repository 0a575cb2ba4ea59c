"""When each practitioner could start a visit on one clinic day: their working times less time off, the
patient's other bookings and their own visits (kept off by the treatment's buffers), on the step grid; and all
of them merged, earliest first, lazily, so the finder pays only for the starts it looks at."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta

from safewindow.domain.availability import NOT_BUSY, OfferedTreatment, Practitioner, working_times
from safewindow.domain.intervals import BusyTimes, Interval, leftovers, subtract
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours


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
    hours that day), earliest first, then by practitioner id. Each waits in the heap under the earliest start
    they could have (their first hour, the opening, the notice) and is only worked out when that comes first:
    once the finder has enough, a practitioner who starts later has cost nothing."""
    if not open_times or not staff:
        return
    opens, weekday = max(open_times[0].start, earliest), day.day.weekday()
    heap = [(max(day.at(hours.days[weekday][0][0]), opens), p.id, n) for n, (p, hours) in enumerate(staff)]
    heapq.heapify(heap)
    streams: list[Iterator[datetime] | None] = [None] * len(staff)
    working: dict[int, list[Interval]] = {}  # by pattern of hours (its id): many share one, worked out once
    while heap:
        start, practitioner_id, n = heap[0]
        stream = streams[n]
        if stream is None:
            practitioner, hours = staff[n]
            within = working.get(id(hours))
            if within is None:
                within = working[id(hours)] = working_times(hours, day, open_times)
            stream = streams[n] = practitioner_openings(
                practitioner, day, within, treatment, step=step, earliest=earliest, patient_busy=patient_busy
            )
        else:
            yield start, staff[n][0]
        following = next(stream, None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following, practitioner_id, n))


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
    midnight, from `earliest` on. Each gap in their diary too short for the visit and its buffers is stepped
    over through the index of their busy times, so a packed morning costs a few lookups, not a walk."""
    duration = treatment.duration
    # Pieces too short for the visit are dropped once, after the last cut: no cut makes a piece longer.
    free = subtract(practitioner.visit_times(within), patient_busy)
    # A visit keeps its buffers clear of the practitioner's other visits: to it, they reach that much further.
    gaps = leftovers(
        free, practitioner.busy, reach_before=treatment.after, reach_after=treatment.before, shortest=duration
    )
    grid = day.start
    for since, until in gaps:
        start = max(since, earliest)
        start = grid - ((grid - start) // step) * step  # up to the next grid line
        latest = until - duration
        while start <= latest:
            yield start
            start += step
