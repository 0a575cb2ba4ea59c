"""One practitioner's starts on a day, found lazily through the index of gaps in their diary, against a brute
force that tries every line of the step grid and asks each busy time directly: the same starts, in the same
order, whatever the hours, time off, patient's bookings, visits, buffers, notice and step."""

from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.availability import OfferedTreatment, Practitioner
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.openings import practitioner_openings
from safewindow.domain.weekly_hours import ClinicDay

VANCOUVER = clinic_zone("America/Vancouver")
# An ordinary day, the spring and autumn clock changes, and a day of permanent UTC-7.
DAYS = [date(2026, 2, 10), date(2026, 3, 8), date(2025, 11, 2), date(2026, 12, 1)]
PROPERTIES = settings(max_examples=300, deadline=None)


def every_start(
    practitioner: Practitioner,
    day: ClinicDay,
    within: list[Interval],
    treatment: OfferedTreatment,
    step: timedelta,
    earliest: datetime,
    patient_busy: BusyTimes,
) -> list[datetime]:
    """The reference: each grid line from local midnight to the end of the working time, kept when the visit
    fits in one stretch of working time, clear of time off and the patient's bookings, with its buffers clear
    of the practitioner's other visits."""
    found = []
    start = day.start
    while start < within[-1].end:
        end = start + treatment.duration
        held_from, held_until = treatment.occupies(start)
        if (
            start >= earliest
            and any(stretch.contains(Interval(start, end)) for stretch in within)
            and practitioner.time_off.is_free(start, end)
            and patient_busy.is_free(start, end)
            and practitioner.busy.is_free(held_from, held_until)
        ):
            found.append(start)
        start += step
    return found


@st.composite
def diary(draw: st.DrawFn, midnight: datetime, most: int, longest: int) -> BusyTimes:
    """On a 5-minute grain, or a 1-minute one to land off the grid; around the day and some far away."""
    grain = draw(st.sampled_from([1, 5]))
    intervals = []
    for _ in range(draw(st.integers(0, most))):
        since = midnight + timedelta(minutes=grain * draw(st.integers(-3 * 60 // grain, 27 * 60 // grain)))
        intervals.append(Interval(since, since + timedelta(minutes=grain * draw(st.integers(1, longest // grain)))))
    for _ in range(draw(st.integers(0, 3))):
        far = midnight + timedelta(days=draw(st.sampled_from([-30, -2, 2, 40])))
        intervals.append(Interval(far, far + timedelta(hours=1)))
    return BusyTimes.of(intervals)


@st.composite
def asked(draw: st.DrawFn, midnight: datetime) -> tuple[OfferedTreatment, timedelta, datetime]:
    """A treatment with buffers, the step of the grid, and the earliest start the notice allows."""
    buffers = st.sampled_from([0, 5, 10, 15, 30])
    treatment = OfferedTreatment("toxin", draw(st.integers(1, 90)), draw(buffers), draw(buffers))
    step = timedelta(minutes=draw(st.sampled_from([5, 7, 10, 15, 30])))
    return treatment, step, midnight + timedelta(minutes=draw(st.integers(-60, 24 * 60)))


@st.composite
def working_times(draw: st.DrawFn, midnight: datetime) -> list[Interval]:
    """One to three stretches in order, from local midnight on; a split shift may leave no gap between parts."""
    stretches, cursor = [], 5 * draw(st.integers(0, 12 * 12))
    for _ in range(draw(st.integers(1, 3))):
        since = cursor + 5 * draw(st.integers(0, 24))
        cursor = since + 5 * draw(st.integers(1, 10 * 12))
        stretches.append(Interval(midnight + timedelta(minutes=since), midnight + timedelta(minutes=cursor)))
    return stretches


@PROPERTIES
@given(st.sampled_from(DAYS), st.data())
def test_the_lazy_starts_are_every_grid_start_the_busy_times_allow(day_of: date, data: st.DataObject) -> None:
    day = ClinicDay(day_of, VANCOUVER)
    midnight = day.start
    practitioner = Practitioner(
        "p1",
        "P1",
        frozenset(),
        {},
        time_off=data.draw(diary(midnight, 2, 180)),
        busy=data.draw(diary(midnight, 40, 60)),
    )
    patient_busy = data.draw(diary(midnight, 3, 90))
    treatment, step, earliest = data.draw(asked(midnight))
    within = data.draw(working_times(midnight))
    lazy = practitioner_openings(
        practitioner, day, within, treatment, step=step, earliest=earliest, patient_busy=patient_busy
    )
    assert list(lazy) == every_start(practitioner, day, within, treatment, step, earliest, patient_busy)


def test_a_fully_booked_morning_is_skipped_to_the_first_start_its_buffers_allow() -> None:
    day = ClinicDay(date(2026, 12, 1), VANCOUVER)  # 08:00 local is 15:00 UTC
    morning = [
        Interval(day.at(time(8)) + timedelta(minutes=45 * n), day.at(time(8, 40)) + timedelta(minutes=45 * n))
        for n in range(6)
    ]  # 40-minute visits with 5 minutes between, 08:00-12:25
    practitioner = Practitioner("p1", "P1", frozenset(), {}, busy=BusyTimes.of(morning))
    botox = OfferedTreatment("botox", 30, buffer_before_minutes=5, buffer_after_minutes=10)
    within = [Interval(day.at(time(8)), day.at(time(13, 30)))]
    found = practitioner_openings(
        practitioner, day, within, botox, step=timedelta(minutes=15), earliest=day.at(time(7))
    )
    # Preparation from 12:25 makes 12:30 the first start; the last must end by 13:30.
    assert list(found) == [day.at(time(12, 30)), day.at(time(12, 45)), day.at(time(13))]
