"""Every practitioner's starts merged, looked up only when they come to the top of the heap: a practitioner
still inside a free stretch found earlier is offered the next grid line with no lookup, and one not yet looked
up waits under a time they cannot start before. Against a brute force that tries every grid line for each
practitioner and sorts: the same starts, in the same order, whatever the hours, diaries, notice and step."""

from datetime import date, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.domain.availability import OfferedTreatment, Practitioner, working_times
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.openings import openings
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours
from tests.unit.test_openings import DAYS, VANCOUVER, asked, diary, every_start

PROPERTIES = settings(max_examples=300, deadline=None)


@st.composite
def hours(draw: st.DrawFn, weekday: int) -> WeeklyHours:
    """One or two shifts on `weekday` on a 5-minute grain, from 04:00 (clear of the clock changes at 02:00)."""
    shifts, cursor = [], 4 * 60 + 5 * draw(st.integers(0, 10 * 12))
    for _ in range(draw(st.integers(1, 2))):
        since = cursor + 5 * draw(st.integers(0, 24))
        cursor = min(since + 5 * draw(st.integers(1, 10 * 12)), 24 * 60 - 1)
        if since >= cursor:
            break
        shifts.append((time(since // 60, since % 60), time(cursor // 60, cursor % 60)))
    return WeeklyHours.of({weekday: shifts})


@PROPERTIES
@given(st.sampled_from(DAYS), st.data())
def test_the_merged_starts_are_every_practitioner_s_grid_starts_by_time_then_id(
    day_of: date, data: st.DataObject
) -> None:
    day = ClinicDay(day_of, VANCOUVER)
    midnight, weekday = day.start, day_of.weekday()
    opening = data.draw(hours(weekday))
    open_times = opening.on(day)
    patterns = [data.draw(hours(weekday)) for _ in range(data.draw(st.integers(1, 3)))]
    staff = [
        (
            Practitioner(
                f"p{n}",
                f"P{n}",
                frozenset(),
                {},
                time_off=data.draw(diary(midnight, 2, 180)),
                busy=data.draw(diary(midnight, 30, 60)),
            ),
            data.draw(st.sampled_from(patterns)),  # some share a pattern of hours, as most do
        )
        for n in data.draw(st.permutations(range(data.draw(st.integers(1, 5)))))  # in no order of id
    ]
    patient_busy = data.draw(diary(midnight, 3, 90))
    treatment, step, earliest = data.draw(asked(midnight))
    found = openings(day, open_times, staff, treatment, step=step, earliest=earliest, patient_busy=patient_busy)
    expected = sorted(
        (start, practitioner.id)
        for practitioner, pattern in staff
        if (within := working_times(pattern, day, open_times))
        for start in every_start(practitioner, day, within, treatment, step, earliest, patient_busy)
    )
    assert [(start, practitioner.id) for start, practitioner in found] == expected


def test_a_practitioner_in_a_free_stretch_is_offered_grid_line_by_grid_line_before_a_later_one() -> None:
    day = ClinicDay(date(2026, 12, 1), VANCOUVER)  # 09:00 local is 16:00 UTC
    botox = OfferedTreatment("botox", 30, buffer_before_minutes=5, buffer_after_minutes=10)
    nine_to_one = WeeklyHours.every(range(7), time(9), time(13))
    morning = BusyTimes.of([Interval(day.at(time(9)), day.at(time(12)))])
    late_morning = BusyTimes.of([Interval(day.at(time(10)), day.at(time(13)))])
    staff = [
        (Practitioner("b", "B", frozenset(), {}, busy=late_morning), nine_to_one),
        (Practitioner("a", "A", frozenset(), {}, busy=morning), nine_to_one),
    ]
    found = openings(day, nine_to_one.on(day), staff, botox, step=timedelta(minutes=15), earliest=day.at(time(8)))
    # B until their 10:00 visit, less 10 minutes of clean-up; A from 12:00 and 5 minutes of preparation, on
    # the grid, until the visit must end at 13:00.
    assert [(start, practitioner.id) for start, practitioner in found] == [
        (day.at(time(9)), "b"),
        (day.at(time(9, 15)), "b"),
        (day.at(time(12, 15)), "a"),
        (day.at(time(12, 30)), "a"),
    ]
