"""Stretches of time as half-open UTC intervals, and the two operations the slot finder lives on: cutting
taken time out of free time, and keeping only what two lists share. Both take sorted lists and stay lazy, so
finding the first slot of a day costs only the intervals that day touches, however long the diary is."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NO_TIME = timedelta(0)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """From `start` up to, not including, `end`; both aware, held in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"interval {self.start} - {self.end}: instants must be timezone-aware")
        # One tzinfo object everywhere keeps comparisons on the fast path (no offset lookups).
        if self.start.tzinfo is not UTC:
            object.__setattr__(self, "start", self.start.astimezone(UTC))
        if self.end.tzinfo is not UTC:
            object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.start >= self.end:
            raise ValueError(f"interval {self.start} - {self.end}: start must come before end")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class BusyTimes:
    """The time a practitioner, room, device, clinic or patient is taken: sorted, overlaps merged, and indexed
    so any stretch is found by bisection. Build it once per resource; queries never scan the whole diary."""

    intervals: tuple[Interval, ...] = ()
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    _ends: tuple[datetime, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged = merge(sorted(self.intervals))
        object.__setattr__(self, "intervals", tuple(merged))
        object.__setattr__(self, "_starts", tuple(i.start for i in merged))
        object.__setattr__(self, "_ends", tuple(i.end for i in merged))

    @classmethod
    def of(cls, intervals: Iterable[Interval]) -> BusyTimes:
        return cls(tuple(intervals))

    def touching(self, start: datetime, end: datetime) -> Sequence[Interval]:
        """The intervals that overlap [start, end), in order."""
        first = bisect_right(self._ends, start)  # merged, so ends are sorted like starts
        last = bisect_left(self._starts, end, lo=first)
        return self.intervals[first:last]

    def is_free(self, start: datetime, end: datetime) -> bool:
        first = bisect_right(self._ends, start)
        return first == len(self._starts) or self._starts[first] >= end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted intervals with every overlapping or touching run joined into one."""
    merged: list[Interval] = []
    for interval in intervals:
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def subtract(
    free: Iterable[Interval],
    taken: BusyTimes,
    *,
    reach_before: timedelta = NO_TIME,
    reach_after: timedelta = NO_TIME,
    shortest: timedelta = NO_TIME,
) -> Iterator[Interval]:
    """What is left of the sorted `free` intervals once `taken` is cut out, leaving out pieces shorter than
    `shortest` (too short for the visit: in a full diary most gaps are, and skipping them is the saving).
    Each taken interval reaches `reach_before` earlier and `reach_after` later than it is: a new visit with
    buffers must keep that far off."""
    if not taken.intervals:  # most time off and patient diaries are empty: no extra layer for them
        return iter(free) if shortest <= NO_TIME else (i for i in free if i.end - i.start >= shortest)
    return _cut(free, taken, reach_before, reach_after, shortest)


def _cut(
    free: Iterable[Interval], taken: BusyTimes, reach_before: timedelta, reach_after: timedelta, shortest: timedelta
) -> Iterator[Interval]:
    ends, starts = taken._ends, taken._starts
    count = len(starts)
    for interval in free:
        cursor, end = interval.start, interval.end
        index = bisect_right(ends, cursor - reach_after)
        while index < count and cursor < end:
            blocked_from = starts[index] - reach_before
            if blocked_from >= end:
                break
            if blocked_from > cursor and blocked_from - cursor >= shortest:
                yield Interval(cursor, blocked_from)
            cursor = max(cursor, ends[index] + reach_after)
            index += 1
        if cursor < end and end - cursor >= shortest:
            yield interval if cursor == interval.start else Interval(cursor, end)


def intersect(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """The time both sorted, non-overlapping lists share."""
    shared: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        start, end = max(a.start, b.start), min(a.end, b.end)
        if start < end:
            shared.append(a if (start, end) == (a.start, a.end) else Interval(start, end))
        if a.end <= b.end:
            i += 1
        else:
            j += 1
    return shared
