"""The busy times' index of gaps and the cut that steps over short gaps with it: written-out examples, and
properties against a plain walk over every taken interval (the cut as it was before the index), which must
give exactly the same pieces for any diary, reach and shortest length; the first grid line with room
from any other, in ticks, against a walk over every grid line; and busy times built from (start, end) rows
against busy times built from intervals, with the index of gaps built only when a question needs it."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safewindow.domain.intervals import (
    ENDLESS,
    ENDLESS_TICKS,
    TICK,
    BusyTimes,
    DiaryTicks,
    GapIndex,
    Interval,
    from_ticks,
    leftovers,
    merge,
    subtract,
    ticks,
)

PROPERTIES = settings(max_examples=300, deadline=None)
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(hours=hour, minutes=minute)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def walked(
    free: list[Interval], taken: list[Interval], reach_before: timedelta, reach_after: timedelta, shortest: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """The reference: every free interval walked past every merged taken interval, one by one."""
    merged = merge(sorted(taken))
    for interval in free:
        cursor, end = interval.start, interval.end
        for busy in merged:
            blocked_from, blocked_until = busy.start - reach_before, busy.end + reach_after
            if blocked_until <= cursor:
                continue
            if blocked_from >= end:
                break
            if blocked_from > cursor and blocked_from - cursor >= shortest:
                yield cursor, blocked_from
            cursor = max(cursor, blocked_until)
        if cursor < end and end - cursor >= shortest:
            yield cursor, end


# --- examples --------------------------------------------------------------------------------------------


def test_gaps_are_counted_before_each_visit_and_the_last_never_ends() -> None:
    diary = BusyTimes.of([Interval(at(9), at(10)), Interval(at(10, 30), at(11)), Interval(at(13), at(14))])
    assert diary.first_gap(0, minutes(60)) == 0  # before 09:00: open-ended
    assert diary.first_gap(1, minutes(10)) == 1  # 10:00-10:30
    assert diary.first_gap(1, minutes(60)) == 2  # 11:00-13:00, past the half hour
    assert diary.first_gap(1, minutes(180)) == 3  # after 14:00: never ends
    assert BusyTimes().first_gap(0, ENDLESS) == 0


def test_a_packed_morning_is_stepped_over_to_the_first_gap_that_fits() -> None:
    packed = [Interval(at(8, 30 * n), at(8, 30 * n + 25)) for n in range(8)]  # 5-minute gaps, 08:00-11:55
    diary = BusyTimes.of([*packed, Interval(at(13), at(14))])
    day = [Interval(at(8), at(17))]
    found = list(leftovers(day, diary, reach_before=minutes(5), reach_after=minutes(10), shortest=minutes(30)))
    # 11:55 + 10 minutes of preparation, up to 13:00 - 5 minutes of clean-up; then 14:10 to the end of day.
    assert found == [(at(12, 5), at(12, 55)), (at(14, 10), at(17))]
    assert list(subtract(day, diary, reach_before=minutes(5), reach_after=minutes(10), shortest=minutes(30))) == [
        Interval(at(12, 5), at(12, 55)),
        Interval(at(14, 10), at(17)),
    ]


# --- properties ------------------------------------------------------------------------------------------


@st.composite
def stretches(draw: st.DrawFn, most: int, longest: int) -> list[Interval]:
    """Intervals on a 1-minute grain over about a day, many touching or overlapping: merging matters."""
    found = []
    for _ in range(draw(st.integers(0, most))):
        since = draw(st.integers(-120, 26 * 60))
        found.append(Interval(at(0, since), at(0, since + draw(st.integers(1, longest)))))
    return found


@st.composite
def sorted_free(draw: st.DrawFn) -> list[Interval]:
    """Sorted free intervals that never overlap; some touch, as nothing forbids it."""
    free, cursor = [], draw(st.integers(-60, 6 * 60))
    for _ in range(draw(st.integers(0, 4))):
        since = cursor + draw(st.integers(0, 90))
        cursor = since + draw(st.integers(1, 12 * 60))
        free.append(Interval(at(0, since), at(0, cursor)))
    return free


reaches = st.integers(0, 40).map(minutes)


@PROPERTIES
@given(sorted_free(), stretches(30, 60), reaches, reaches, st.integers(0, 120).map(minutes))
def test_the_indexed_cut_leaves_exactly_what_a_walk_past_every_visit_leaves(
    free: list[Interval], taken: list[Interval], before: timedelta, after: timedelta, shortest: timedelta
) -> None:
    diary = BusyTimes.of(taken)
    expected = list(walked(free, taken, before, after, shortest))
    found = leftovers(free, diary, reach_before=before, reach_after=after, shortest=shortest)
    assert list(found) == expected
    cut = subtract(free, diary, reach_before=before, reach_after=after, shortest=shortest)
    assert [(piece.start, piece.end) for piece in cut] == expected


@PROPERTIES
@given(st.lists(st.integers(0, 100).map(lambda m: minutes(m) // TICK), max_size=70), st.data())
def test_the_first_long_enough_gap_is_the_first_a_scan_finds(lengths: list[int], data: st.DataObject) -> None:
    gaps = [ENDLESS_TICKS, *lengths, ENDLESS_TICKS]
    index = GapIndex.of(gaps)
    for start in range(len(gaps)):
        wanted = data.draw(st.integers(0, 110).map(lambda m: minutes(m) // TICK))
        assert index.first_at_least(start, wanted) == next(n for n in range(start, len(gaps)) if gaps[n] >= wanted)


@PROPERTIES
@given(stretches(30, 60), st.integers(1, 120).map(minutes), reaches, st.data())
def test_the_first_clear_grid_line_is_the_first_a_walk_over_every_grid_line_finds(
    taken: list[Interval], length: timedelta, lead: timedelta, data: st.DataObject
) -> None:
    diary = BusyTimes.of(taken)
    step = minutes(data.draw(st.sampled_from([1, 5, 7, 15, 30])))
    grid = at(0, data.draw(st.integers(-30, 30)))
    # Anywhere, or where a gap holds exactly `length` (just before a visit, or at its end), then up to the grid.
    edges = [edge for i in diary.intervals for edge in (i.start - length + lead, i.end + lead)]
    near = data.draw(st.sampled_from(edges) if edges and data.draw(st.booleans()) else st.just(at(0, 0)))
    near += minutes(data.draw(st.integers(-180, 27 * 60)) if near == at(0, 0) else data.draw(st.integers(-1, 1)))
    since = grid - ((grid - near) // step) * step
    start = since
    while not diary.is_free(start - lead, start - lead + length):
        start += step
    ends = min((i.start for i in diary.intervals if i.start >= start - lead), default=None)
    expected = (ticks(start), ENDLESS_TICKS if ends is None else ticks(ends))
    assert diary.first_clear(ticks(since), lead // TICK, length // TICK, ticks(grid), step // TICK) == expected


def test_ticks_are_exact_microseconds_in_utc_and_endless_is_past_any_instant() -> None:
    instant = datetime(2026, 11, 1, 8, 30, 0, 7, tzinfo=UTC)
    assert from_ticks(ticks(instant)) == instant and from_ticks(ticks(instant)).tzinfo is UTC
    assert ticks(instant + TICK) - ticks(instant) == 1
    assert ticks(datetime.max.replace(tzinfo=UTC)) < ENDLESS_TICKS


# --- busy times from rows --------------------------------------------------------------------------------

ELSEWHERE = (UTC, timezone(timedelta(0)), timezone(timedelta(hours=-8)))  # the same instants, other tzinfo


@st.composite
def rows(draw: st.DrawFn, most: int) -> list[tuple[datetime, datetime]]:
    """(start, end) pairs in any order: all in UTC, as the store returns them, or some starts in other zones."""
    pairs = [(i.start, i.end) for i in draw(stretches(most, 60))]
    zones = st.just(UTC) if draw(st.booleans()) else st.sampled_from(ELSEWHERE)
    return [(start.astimezone(draw(zones)), end) for start, end in draw(st.permutations(pairs))]


def the_index(diary: BusyTimes) -> DiaryTicks:
    """The bounds in ticks and the index of gaps, as busy times built them eagerly before."""
    starts = tuple(ticks(i.start) for i in diary.intervals)
    ends = tuple(ticks(i.end) for i in diary.intervals)
    gaps = [ENDLESS_TICKS, *(s - e for e, s in zip(ends, starts[1:], strict=False)), ENDLESS_TICKS]
    return DiaryTicks(starts, ends, GapIndex.of(gaps if starts else [ENDLESS_TICKS]))


@PROPERTIES
@given(rows(40), st.data())
def test_busy_times_from_rows_are_the_busy_times_from_their_intervals(
    pairs: list[tuple[datetime, datetime]], data: st.DataObject
) -> None:
    expected = BusyTimes.of(Interval(start, end) for start, end in pairs)
    found = BusyTimes.of_pairs(iter(pairs))
    assert found == expected and found.intervals == tuple(merge(sorted(Interval(s, e) for s, e in pairs)))
    assert all(i.start.tzinfo is UTC and i.end.tzinfo is UTC for i in found.intervals)
    start = at(0, data.draw(st.integers(-150, 27 * 60)))
    end = start + minutes(data.draw(st.integers(1, 120)))
    assert found.is_free(start, end) == expected.is_free(start, end)
    assert found.touching(start, end) == expected.touching(start, end)
    length = minutes(data.draw(st.integers(0, 120)))
    index = data.draw(st.integers(0, len(found.intervals)))
    assert found.first_gap(index, length) == expected.first_gap(index, length)
    tick = minutes(1) // TICK
    asked = (ticks(start), data.draw(st.integers(0, 30)) * tick, length // TICK or tick, ticks(at(0)), 15 * tick)
    assert found.first_clear(*asked) == expected.first_clear(*asked)


@PROPERTIES
@given(stretches(40, 60), st.booleans())
def test_the_index_is_built_on_the_first_question_that_needs_it_and_as_it_always_was(
    taken: list[Interval], from_rows: bool
) -> None:
    diary = BusyTimes.of_pairs((i.start, i.end) for i in taken) if from_rows else BusyTimes.of(taken)
    diary.is_free(at(9), at(10))
    diary.touching(at(9), at(10))
    assert diary._indexed is None  # what a booking asks needs no ticks
    diary.first_gap(0, minutes(30))
    built = diary._indexed
    assert built == the_index(diary)
    diary.first_clear(ticks(at(9)), 0, minutes(30) // TICK, ticks(at(0)), minutes(15) // TICK)
    assert diary._indexed is built  # built once


def test_rows_merge_as_intervals_do_and_no_rows_are_no_busy_times() -> None:
    assert BusyTimes.of_pairs([]) == BusyTimes() and BusyTimes.of_pairs([]).first_gap(0, ENDLESS) == 0
    touching_and_overlapping = [(at(10), at(11)), (at(9), at(10)), (at(10, 30), at(10, 45)), (at(12), at(13))]
    assert BusyTimes.of_pairs(touching_and_overlapping).intervals == (
        Interval(at(9), at(11)),
        Interval(at(12), at(13)),
    )


@pytest.mark.parametrize(
    "pairs",
    [
        [(at(9), at(10)), (at(11).replace(tzinfo=None), at(12).replace(tzinfo=None))],  # naive
        [(at(9), at(10)), (at(11).replace(tzinfo=None), at(12))],  # naive and aware: not even sortable
        [(at(9), at(10)), (at(12), at(12))],  # empty
        [(at(9), at(10)), (at(12), at(11))],  # backwards
    ],
)
def test_rows_that_are_no_interval_are_refused_as_intervals_refuse_them(
    pairs: list[tuple[datetime, datetime]],
) -> None:
    with pytest.raises(ValueError, match="interval"):
        BusyTimes.of_pairs(pairs)
