"""Median microseconds to build busy times from (start, end) rows as the store returns them (aware, in UTC):
for one booking (9 diaries of 5-40 visits each, as the booking service reads them and then asks `is_free`
twice of each), and for the slot finder (one diary of 500 visits, asked `first_clear` once, so the index of
gaps is built as well). Each way is timed in the same process: through `Interval` objects and `BusyTimes.of`
(what the services did before `of_pairs`), and through `BusyTimes.of_pairs`.

Reproduce: .venv/bin/python bench/busy_times.py"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from safewindow.domain.intervals import BusyTimes, Interval, ticks

Rows = Sequence[tuple[datetime, datetime]]
MIDNIGHT = datetime(2026, 11, 30, 8, tzinfo=UTC)  # midnight in Vancouver
RESOURCES = 9
ROUNDS = 3000
QUARTER = timedelta(minutes=15)


def diary(rng: random.Random, visits: int, days: int) -> list[tuple[datetime, datetime]]:
    """`visits` visits of 15-60 minutes on the 15-minute grid over `days` days, in start order as the store
    reads them; a few touch or overlap (a patient's visits at two clinics, a room shared by two visits)."""
    rows = []
    for _ in range(visits):
        start = MIDNIGHT + timedelta(days=rng.randrange(days), hours=8) + QUARTER * rng.randrange(40)
        rows.append((start, start + QUARTER * rng.randint(1, 4)))
    return sorted(rows)


def via_intervals(rows: Rows) -> BusyTimes:
    return BusyTimes.of(Interval(start, end) for start, end in rows)


def via_pairs(rows: Rows) -> BusyTimes:
    return BusyTimes.of_pairs(rows)


def booking_us(build: Callable[[Rows], BusyTimes], diaries: list[Rows], start: datetime, end: datetime) -> float:
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter_ns()
        for rows in diaries:
            busy = build(rows)
            busy.is_free(start, end)
            busy.is_free(start - QUARTER, end + QUARTER)
        samples.append((time.perf_counter_ns() - began) / 1000)
    return statistics.median(samples)


def finder_us(build: Callable[[Rows], BusyTimes], rows: Rows) -> float:
    since, step = ticks(MIDNIGHT), QUARTER // timedelta(microseconds=1)
    samples = []
    for _ in range(ROUNDS // 10):
        began = time.perf_counter_ns()
        build(rows).first_clear(since, 0, 4 * step, since, step)
        samples.append((time.perf_counter_ns() - began) / 1000)
    return statistics.median(samples)


def main() -> None:
    rng = random.Random(2026)
    diaries: list[Rows] = [diary(rng, rng.randint(5, 40), 3) for _ in range(RESOURCES)]
    finder: Rows = diary(rng, 500, 90)
    start = MIDNIGHT + timedelta(days=1, hours=10)
    end = start + 2 * QUARTER
    ways = {"BusyTimes.of(Interval(...))": via_intervals}
    if hasattr(BusyTimes, "of_pairs"):
        ways["BusyTimes.of_pairs(rows)"] = via_pairs
    sizes = ", ".join(str(len(rows)) for rows in diaries)
    print(f"one booking: {RESOURCES} diaries of {sizes} visits, built and asked is_free twice each")
    for label, build in ways.items():
        print(f"  {label:30} median {booking_us(build, diaries, start, end):8.1f} us per booking")
    print(f"slot finder: one diary of {len(finder)} visits, built and asked first_clear once")
    for label, build in ways.items():
        print(f"  {label:30} median {finder_us(build, finder):8.1f} us per diary")
    print(f"python {sys.version.split()[0]}; reproduce: .venv/bin/python bench/busy_times.py")


if __name__ == "__main__":
    main()
