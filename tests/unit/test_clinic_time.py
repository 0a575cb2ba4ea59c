"""British Columbia moved to permanent UTC-7 on 2026-11-01; the host's zone database may not know."""

import zoneinfo
from datetime import UTC, datetime

import safewindow  # noqa: F401  (importing the package pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.history import clinic_day

VANCOUVER = clinic_zone("America/Vancouver")


def test_zoneinfo_reads_only_the_tzdata_package() -> None:
    assert zoneinfo.TZPATH == ()


def test_ten_in_abbotsford_on_1_december_2026_is_17_utc() -> None:
    local = datetime(2026, 12, 1, 10, 0, tzinfo=VANCOUVER)
    assert local.astimezone(UTC) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_no_clock_change_in_november_2026_or_march_2027() -> None:
    assert (
        datetime(2026, 10, 31, 12, tzinfo=VANCOUVER).utcoffset()
        == datetime(2026, 11, 2, 12, tzinfo=VANCOUVER).utcoffset()
    )
    assert (
        datetime(2027, 3, 1, 12, tzinfo=VANCOUVER).utcoffset()
        == datetime(2027, 3, 20, 12, tzinfo=VANCOUVER).utcoffset()
    )


def test_the_last_spring_change_still_happened_in_march_2026() -> None:
    before = datetime(2026, 3, 7, 12, tzinfo=VANCOUVER).astimezone(UTC)
    after = datetime(2026, 3, 9, 12, tzinfo=VANCOUVER).astimezone(UTC)
    assert (before.hour, after.hour) == (20, 19)


def test_november_2025_still_fell_back() -> None:
    assert datetime(2025, 11, 1, 12, tzinfo=VANCOUVER).astimezone(UTC).hour == 19
    assert datetime(2025, 11, 3, 12, tzinfo=VANCOUVER).astimezone(UTC).hour == 20


def test_a_late_evening_visit_counts_on_its_local_day() -> None:
    # 05:30 UTC on 25 Nov is 22:30 on 24 Nov in Abbotsford: day rules count the 24th.
    assert clinic_day(datetime(2026, 11, 25, 5, 30, tzinfo=UTC), VANCOUVER).isoformat() == "2026-11-24"
