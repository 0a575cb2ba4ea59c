"""Stretches of time as half-open UTC intervals, and the operations availability lives on: cutting taken time
out of free time, keeping only what two lists share (both take sorted lists and stay lazy), and finding in a
diary the first free stretch long enough from any instant. Busy times keep an index of the free time between
their visits, so a gap long enough for a visit is found past a packed morning in a few lookups, however many
visits it holds.

Busy times also hold their bounds as ticks (whole microseconds since the epoch: exact, as datetimes hold no
finer time), so the slot finder's inner loop adds, compares and rounds plain numbers, not datetimes. Ticks and
the index are built on the slot finder's first question, never for a booking, which asks only whether a
stretch is free; and busy times read from the store are built from their rows with `BusyTimes.of_pairs`."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import attrgetter, sub

NO_TIME = timedelta(0)
ENDLESS = timedelta.max  # the free time before a diary's first visit and after its last
TICK = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ENDLESS_TICKS = ENDLESS // TICK  # as long, or as late, as ticks need: past any instant a datetime holds


def ticks(instant: datetime) -> int:
    """`instant` (aware) as whole microseconds since the epoch."""
    return (instant - EPOCH) // TICK


def from_ticks(count: int) -> datetime:
    """The instant, in UTC, `count` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=count)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """From `start` up to, not including, `end`; both aware, held in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = self.start, self.end
        if start.tzinfo is not UTC or end.tzinfo is not UTC:  # rare: instants come in UTC from the store
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError(f"interval {start} - {end}: instants must be timezone-aware")
            # One tzinfo object everywhere keeps comparisons on the fast path (no offset lookups).
            if start.tzinfo is not UTC:
                start = start.astimezone(UTC)
                object.__setattr__(self, "start", start)
            if end.tzinfo is not UTC:
                end = end.astimezone(UTC)
                object.__setattr__(self, "end", end)
        if start >= end:
            raise ValueError(f"interval {start} - {end}: start must come before end")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


_BOUNDS = attrgetter("start", "end")  # the order of intervals, as one key: sorts without a call per comparison


@dataclass(frozen=True, slots=True)
class BusyTimes:
    """The time a practitioner, room, device, clinic or patient is taken: sorted, overlaps merged, and indexed
    so any stretch is found by bisection and the first long enough gap by `first_gap` or `first_clear`. Build
    it once per resource; queries never scan the whole diary. The bounds in ticks and the index of gaps are
    built on the first question that needs them: a booking asks only `is_free` of the ones it reads."""

    intervals: tuple[Interval, ...] = ()
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    _ends: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    # One slot, set once whole: a race builds it twice, identically, and no reader sees half of it.
    _indexed: DiaryTicks | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged = merge(sorted(self.intervals, key=_BOUNDS))
        object.__setattr__(self, "intervals", tuple(merged))
        object.__setattr__(self, "_starts", tuple(i.start for i in merged))
        object.__setattr__(self, "_ends", tuple(i.end for i in merged))

    @classmethod
    def of(cls, intervals: Iterable[Interval]) -> BusyTimes:
        return cls(tuple(intervals))

    @classmethod
    def of_pairs(cls, pairs: Iterable[tuple[datetime, datetime]]) -> BusyTimes:
        """The same as `of(Interval(start, end) for start, end in pairs)`, and the same errors, but built from
        the pairs themselves: rows read from the store (aware, in UTC, starting before they end) are checked in
        the pass that merges them, and only the merged ones become intervals. Any other pair takes the way
        through `Interval`."""
        bounds = list(pairs)
        try:
            bounds.sort()
        except TypeError:  # naive and aware instants mixed: `Interval` says which
            return cls.of(Interval(start, end) for start, end in bounds)
        starts: list[datetime] = []
        ends: list[datetime] = []
        last = None  # ends[-1]
        for start, end in bounds:
            if start.tzinfo is not UTC or end.tzinfo is not UTC or start >= end:
                return cls.of(Interval(start, end) for start, end in bounds)
            if last is not None and start <= last:
                if end > last:
                    ends[-1] = last = end
            else:
                starts.append(start)
                ends.append(end)
                last = end
        busy: BusyTimes = object.__new__(cls)
        object.__setattr__(busy, "intervals", tuple(map(Interval, starts, ends)))
        object.__setattr__(busy, "_starts", tuple(starts))
        object.__setattr__(busy, "_ends", tuple(ends))
        object.__setattr__(busy, "_indexed", None)
        return busy

    def _ticks(self) -> DiaryTicks:
        """The bounds in ticks and the index of gaps, built on the first call."""
        indexed = self._indexed
        if indexed is None:
            indexed = DiaryTicks.of(self._starts, self._ends)
            object.__setattr__(self, "_indexed", indexed)
        return indexed

    def touching(self, start: datetime, end: datetime) -> Sequence[Interval]:
        """The intervals that overlap [start, end), in order."""
        first = bisect_right(self._ends, start)  # merged, so ends are sorted like starts
        last = bisect_left(self._starts, end, lo=first)
        return self.intervals[first:last]

    def is_free(self, start: datetime, end: datetime) -> bool:
        first = bisect_right(self._ends, start)
        return first == len(self._starts) or self._starts[first] >= end

    def first_gap(self, index: int, length: timedelta) -> int:
        """The first gap from gap `index` (0 to `len(intervals)`) on that is at least `length` long. Gap `i` is
        the free time just before interval `i`; the one after the last interval never ends, so there is one."""
        return self._ticks().longest.first_at_least(index, length // TICK)

    def first_clear(self, since: int, lead: int, length: int, grid: int, step: int) -> tuple[int, int]:
        """In ticks: the first grid line (every `step` from `grid`) at or after `since`, itself one, such that
        the `length` that begins `lead` before it is free; and where the free time holding that ends
        (`ENDLESS_TICKS` after the last interval). Gaps too short are stepped over through the index, so a
        packed stretch costs a few lookups, and a gap long enough but for the grid is passed for the next."""
        indexed = self._indexed or self._ticks()
        starts, ends = indexed.starts, indexed.ends
        last = len(starts)
        held = since - lead
        gap = bisect_right(ends, held)  # `held` lies in gap `gap`, or in the interval right after it
        # Rounded up to the grid, `held` may land past interval `gap`: it then fails the test below as well,
        # and the search goes on from the next gap long enough.
        while gap < last and starts[gap] - held < length:
            gap = indexed.longest.first_at_least(gap + 1, length)
            start = ends[gap - 1] + lead
            held = start + (grid - start) % step - lead
        return held + lead, starts[gap] if gap < last else ENDLESS_TICKS


@dataclass(frozen=True, slots=True)
class DiaryTicks:
    """A diary's bounds as ticks and the index of the gaps between its visits: what the slot finder asks."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    longest: GapIndex

    @classmethod
    def of(cls, starts: Sequence[datetime], ends: Sequence[datetime]) -> DiaryTicks:
        """Of merged intervals' bounds, in order."""
        start_ticks = tuple([(start - EPOCH) // TICK for start in starts])  # `ticks`, without a call each
        end_ticks = tuple([(end - EPOCH) // TICK for end in ends])
        gaps = [ENDLESS_TICKS, *map(sub, start_ticks[1:], end_ticks), ENDLESS_TICKS] if starts else [ENDLESS_TICKS]
        return cls(start_ticks, end_ticks, GapIndex.of(gaps))


@dataclass(frozen=True, slots=True)
class GapIndex:
    """The longest gap (in ticks) in every aligned block of consecutive gaps (a max segment tree: root at 1,
    leaves from `size`), so the first gap long enough for a visit is found in steps that grow with the
    logarithm of how many gaps it lies beyond, not with their number. Leaves past the last gap count as
    endless."""

    size: int
    tree: tuple[int, ...]

    @classmethod
    def of(cls, gaps: list[int]) -> GapIndex:
        """Over `gaps` in order; the last must be endless (the time after a diary's last visit)."""
        size = 1 << (len(gaps) - 1).bit_length()
        level = gaps + [gaps[-1]] * (size - len(gaps))
        levels = [level]
        while len(level) > 1:
            level = [a if a >= b else b for a, b in zip(level[::2], level[1::2], strict=True)]
            levels.append(level)
        levels.append([0])  # the unused node 0
        return cls(size, tuple(chain.from_iterable(reversed(levels))))

    def first_at_least(self, index: int, length: int) -> int:
        tree, size = self.tree, self.size
        node = size + index
        # Up: past each block too short, to the one right after it, a level higher once it is a right child;
        # the rightmost block of every level ends in an endless leaf, so this never leaves the tree.
        while tree[node] < length:
            node = (node >> 1) + 1 if node & 1 else node + 1
        # Down: into the left half whenever it holds a gap long enough, as it comes first.
        while node < size:
            node <<= 1
            if tree[node] < length:
                node += 1
        return node - size


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted intervals with every overlapping or touching run joined into one."""
    merged: list[Interval] = []
    last = None  # merged[-1].end
    for interval in intervals:
        if last is not None and interval.start <= last:
            if interval.end > last:
                last = interval.end
                merged[-1] = Interval(merged[-1].start, last)
        else:
            merged.append(interval)
            last = interval.end
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
    `shortest` (too short for the visit: in a full diary most gaps are, and the index steps over them unseen).
    Each taken interval reaches `reach_before` earlier and `reach_after` later than it is: a new visit with
    buffers must keep that far off."""
    if not taken.intervals:  # most time off and patient diaries are empty: no extra layer for them
        return iter(free) if shortest <= NO_TIME else (i for i in free if i.end - i.start >= shortest)
    pieces = leftovers(free, taken, reach_before=reach_before, reach_after=reach_after, shortest=shortest)
    return (Interval(start, end) for start, end in pieces)


def leftovers(
    free: Iterable[Interval],
    taken: BusyTimes,
    *,
    reach_before: timedelta = NO_TIME,
    reach_after: timedelta = NO_TIME,
    shortest: timedelta = NO_TIME,
) -> Iterator[tuple[datetime, datetime]]:
    """What `subtract` leaves, as (start, end) pairs: the slot finder needs only the bounds of each piece."""
    ends, starts = taken._ends, taken._starts
    longest = taken._ticks().longest
    last = len(starts)  # the gap after the last taken interval
    # A gap between taken intervals leaves `shortest` only if it holds both reaches as well; shorter ones (most
    # of a full diary) are stepped over through the index, never one by one.
    wanted = (shortest + reach_before + reach_after) // TICK
    for interval in free:
        start, end = interval.start, interval.end
        gap = bisect_right(ends, start - reach_after)  # the first taken interval still reaching past `start`
        while True:
            gap = longest.first_at_least(gap, wanted)
            since = start if gap == 0 else max(start, ends[gap - 1] + reach_after)
            if since >= end:
                break
            until = end if gap == last else min(end, starts[gap] - reach_before)
            if since < until and until - since >= shortest:
                yield since, until
            if until >= end:
                break
            gap += 1


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
