"""Free time: intervals and busy times, hours in the clinic's zone, rooms and devices, and every reason the
booking check refuses a proposed visit. Expected instants are written out by hand."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.availability import (
    BookingPolicy,
    Clinic,
    Closures,
    Device,
    OfferedTreatment,
    Practitioner,
    Room,
    free_equipment,
)
from safewindow.domain.booking_check import Refused, check_booking
from safewindow.domain.intervals import BusyTimes, Interval, intersect, merge, subtract
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours

VANCOUVER = clinic_zone("America/Vancouver")


def utc(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def iv(start: datetime, end: datetime) -> Interval:
    return Interval(start, end)


def busy(*pairs: tuple[datetime, datetime]) -> BusyTimes:
    return BusyTimes.of(Interval(s, e) for s, e in pairs)


# --- intervals -------------------------------------------------------------------------------------------


def test_an_interval_is_held_in_utc_and_must_run_forwards() -> None:
    local = Interval(datetime(2026, 12, 1, 10, tzinfo=VANCOUVER), datetime(2026, 12, 1, 11, tzinfo=VANCOUVER))
    assert (local.start, local.end) == (utc(1, 17, month=12), utc(1, 18, month=12))
    assert local.start.tzinfo is UTC
    assert local.overlaps(Interval(utc(1, 17, 59, month=12), utc(1, 19, month=12)))
    assert not local.overlaps(Interval(utc(1, 18, month=12), utc(1, 19, month=12)))  # half-open
    assert local.contains(Interval(utc(1, 17, 15, month=12), utc(1, 18, month=12)))
    with pytest.raises(ValueError, match="start must come before end"):
        Interval(utc(1, 10), utc(1, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2026, 11, 1, 10), utc(1, 11))


def test_busy_times_sort_and_join_overlapping_and_touching_visits() -> None:
    times = busy(
        (utc(2, 11), utc(2, 12)), (utc(2, 9), utc(2, 10)), (utc(2, 10), utc(2, 10, 30)), (utc(2, 11, 30), utc(2, 13))
    )
    assert times.intervals == (iv(utc(2, 9), utc(2, 10, 30)), iv(utc(2, 11), utc(2, 13)))
    assert merge([]) == []


def test_busy_times_find_what_touches_a_stretch_and_whether_it_is_free() -> None:
    times = busy((utc(2, 9), utc(2, 10)), (utc(2, 11), utc(2, 12)), (utc(3, 9), utc(3, 10)))
    assert list(times.touching(utc(2, 9, 30), utc(2, 11, 1))) == [iv(utc(2, 9), utc(2, 10)), iv(utc(2, 11), utc(2, 12))]
    assert list(times.touching(utc(2, 10), utc(2, 11))) == []  # half-open: the ends only touch
    assert times.is_free(utc(2, 10), utc(2, 11))
    assert not times.is_free(utc(2, 10), utc(2, 11, 1))
    assert times.is_free(utc(3, 10), utc(4, 10))
    assert BusyTimes().is_free(utc(1, 0), utc(30, 0))


def test_subtract_cuts_taken_time_out_with_its_reach_and_drops_short_pieces() -> None:
    day = [iv(utc(2, 16), utc(3, 0))]  # 09:00-17:00 in Abbotsford
    taken = busy((utc(2, 18), utc(2, 19)), (utc(2, 20), utc(2, 20, 30)))
    assert list(subtract(day, taken)) == [
        iv(utc(2, 16), utc(2, 18)),
        iv(utc(2, 19), utc(2, 20)),
        iv(utc(2, 20, 30), utc(3, 0)),
    ]
    reached = subtract(day, taken, reach_before=timedelta(minutes=15), reach_after=timedelta(minutes=30))
    assert list(reached) == [
        iv(utc(2, 16), utc(2, 17, 45)),
        iv(utc(2, 19, 30), utc(2, 19, 45)),
        iv(utc(2, 21), utc(3, 0)),
    ]
    long_enough = subtract(day, taken, shortest=timedelta(hours=2))
    assert list(long_enough) == [iv(utc(2, 16), utc(2, 18)), iv(utc(2, 20, 30), utc(3, 0))]
    assert list(subtract(day, BusyTimes(), shortest=timedelta(hours=9))) == []


def test_intersect_keeps_what_both_share() -> None:
    opening = [iv(utc(2, 16), utc(3, 0))]
    working = [iv(utc(2, 15), utc(2, 19)), iv(utc(2, 20), utc(2, 22)), iv(utc(2, 23), utc(3, 2))]
    assert intersect(opening, working) == [
        iv(utc(2, 16), utc(2, 19)),
        iv(utc(2, 20), utc(2, 22)),
        iv(utc(2, 23), utc(3, 0)),
    ]
    assert intersect(opening, []) == []


# --- hours in the clinic's zone --------------------------------------------------------------------------


def test_ten_local_is_17_utc_after_bc_stopped_changing_clocks() -> None:
    hours = WeeklyHours.every(range(7), time(10), time(18))
    assert hours.on(ClinicDay(date(2026, 12, 1), VANCOUVER)) == [iv(utc(1, 17, month=12), utc(2, 1, month=12))]
    assert hours.on(ClinicDay(date(2027, 7, 1), VANCOUVER)) == [
        iv(utc(1, 17, month=7, year=2027), utc(2, 1, month=7, year=2027))
    ]


def test_ten_local_follows_the_march_2026_clock_change() -> None:
    hours = WeeklyHours.every(range(7), time(10), time(18))
    assert hours.on(ClinicDay(date(2026, 3, 6), VANCOUVER))[0].start == utc(6, 18, month=3)  # PST, UTC-8
    assert hours.on(ClinicDay(date(2026, 3, 9), VANCOUVER))[0].start == utc(9, 17, month=3)  # PDT, UTC-7
    short = ClinicDay(date(2026, 3, 8), VANCOUVER).whole()
    assert short.end - short.start == timedelta(hours=23)


def test_weekly_hours_check_their_shape_and_join_touching_shifts() -> None:
    split = WeeklyHours.of({0: [(time(12), time(17)), (time(9), time(12))]})
    assert split.days[0] == ((time(9), time(17)),)
    assert split.days[1] == ()
    assert not split.has_hours(date(2026, 11, 24))  # a Tuesday
    with pytest.raises(ValueError, match="Monday: hours overlap"):
        WeeklyHours.of({0: [(time(9), time(13)), (time(12), time(17))]})
    with pytest.raises(ValueError, match="must start before it ends"):
        WeeklyHours.of({2: [(time(17), time(9))]})
    with pytest.raises(ValueError, match="7 days"):
        WeeklyHours(((),))
    with pytest.raises(ValueError, match="numbered 0"):
        WeeklyHours.of({7: [(time(9), time(17))]})


def test_open_times_leave_out_closed_days_and_closures() -> None:
    clinic = Clinic(
        "abbotsford",
        VANCOUVER,
        WeeklyHours.every(range(7), time(9), time(17)),
        Closures(frozenset({date(2026, 12, 25)}), busy((utc(24, 20, month=12), utc(24, 22, month=12)))),
    )
    assert clinic.open_times(ClinicDay(date(2026, 12, 25), VANCOUVER)) == []
    # 24 Dec: 09:00-17:00 local is 16:00-00:00 UTC, closed 12:00-14:00 local for the staff party.
    assert clinic.open_times(ClinicDay(date(2026, 12, 24), VANCOUVER)) == [
        iv(utc(24, 16, month=12), utc(24, 20, month=12)),
        iv(utc(24, 22, month=12), utc(25, 0, month=12)),
    ]


def test_a_clinic_needs_unique_room_and_device_ids() -> None:
    with pytest.raises(ValueError, match="room ids must be unique"):
        Clinic("c", VANCOUVER, WeeklyHours.of({}), rooms=(Room("r", "treatment"), Room("r", "laser")))


def test_treatments_and_policies_reject_impossible_numbers() -> None:
    with pytest.raises(ValueError, match="duration_minutes must be 1 to 480"):
        OfferedTreatment("botox", 0)
    with pytest.raises(ValueError, match="duration_minutes must be 1 to 480"):
        OfferedTreatment("botox", 481)
    with pytest.raises(ValueError, match="buffers must be 0 to 120 minutes"):
        OfferedTreatment("botox", 30, buffer_before_minutes=-5)
    with pytest.raises(ValueError, match="buffers must be 0 to 120 minutes"):
        OfferedTreatment("botox", 30, buffer_after_minutes=121)
    OfferedTreatment("botox", 480, buffer_before_minutes=120, buffer_after_minutes=120)  # the bounds themselves
    with pytest.raises(ValueError, match="step_minutes"):
        BookingPolicy(step_minutes=0)
    with pytest.raises(ValueError, match="cannot be negative"):
        BookingPolicy(horizon_days=-1)


# --- rooms and devices -----------------------------------------------------------------------------------

LASER = OfferedTreatment("ipl", 45, 0, 15, frozenset({"may-use-laser"}), room_kind="treatment", device_kind="laser")
START = utc(24, 18)  # 11:00 in Abbotsford


def test_the_first_free_room_of_the_kind_and_a_free_shared_device() -> None:
    clinic = Clinic(
        "c",
        VANCOUVER,
        WeeklyHours.of({}),
        rooms=(
            Room("consult", "consultation"),
            Room("one", "treatment", busy=busy((utc(24, 17), utc(24, 18)))),
            Room("two", "treatment"),
        ),
        devices=(Device("laser-1", "laser", busy=busy((utc(24, 18), utc(24, 19)))), Device("laser-2", "laser")),
    )
    found = free_equipment(clinic, LASER, START)
    assert found is not None and found.room is not None and found.device is not None
    assert (found.room.id, found.device.id) == ("one", "laser-2")


def test_a_room_with_the_device_fixed_needs_no_shared_one() -> None:
    clinic = Clinic(
        "c",
        VANCOUVER,
        WeeklyHours.of({}),
        rooms=(Room("laser-room", "treatment", frozenset({"laser"})),),
        devices=(Device("laser-1", "laser", busy=busy((utc(24, 0), utc(25, 0)))),),
    )
    found = free_equipment(clinic, LASER, START)
    assert found is not None and found.room is not None
    assert (found.room.id, found.device) == ("laser-room", None)


def test_no_free_device_means_no_equipment() -> None:
    clinic = Clinic(
        "c",
        VANCOUVER,
        WeeklyHours.of({}),
        rooms=(Room("one", "treatment"),),
        devices=(Device("laser-1", "laser", busy=busy((utc(24, 18, 50), utc(24, 20)))),),
    )
    assert free_equipment(clinic, LASER, START) is None  # the 15-minute clean-up runs into 11:50 local


# --- the booking check -----------------------------------------------------------------------------------

HOURS = WeeklyHours.every(range(5), time(9), time(17))
BOTOX = OfferedTreatment("botox", 30, 10, 15, frozenset({"may-inject"}), room_kind="treatment")
NOW = utc(20, 17)  # Friday 20 Nov 2026, 10:00 local


def clinic(**changes: object) -> Clinic:
    values: dict[str, object] = {
        "id": "abbotsford",
        "zone": VANCOUVER,
        "opening": HOURS,
        "closures": Closures(frozenset({date(2026, 12, 25)})),
        "rooms": (Room("one", "treatment"), Room("consult", "consultation")),
        "devices": (Device("laser-1", "laser"),),
    }
    values.update(changes)
    return Clinic(**values)  # type: ignore[arg-type]


def nurse(**changes: object) -> Practitioner:
    values: dict[str, object] = {
        "id": "n1",
        "name": "Nurse Ada",
        "qualifications": frozenset({"may-inject"}),
        "hours": {"abbotsford": WeeklyHours.every(range(5), time(10), time(16))},
    }
    values.update(changes)
    return Practitioner(**values)  # type: ignore[arg-type]


def codes(
    start: datetime,
    where: Clinic | None = None,
    who: Practitioner | None = None,
    treatment: OfferedTreatment = BOTOX,
    **options: object,
) -> list[str]:
    options.setdefault("room_id", "one")
    refusals = check_booking(where or clinic(), treatment, who or nurse(), start, now=NOW, **options)  # type: ignore[arg-type]
    assert all(r.message for r in refusals)
    return [str(r.code) for r in refusals]


def test_a_free_time_is_not_refused() -> None:
    assert codes(utc(24, 18)) == []  # Tuesday 24 Nov, 11:00 local


def test_hours_and_closures() -> None:
    assert codes(utc(24, 15, 30)) == ["outside-opening-hours", "practitioner-not-working"]  # 08:30 local
    assert codes(utc(25, 17, month=12)) == ["clinic-closed-day"]  # Christmas Day, a Friday
    closing = clinic(closures=Closures(times=busy((utc(24, 18, 15), utc(24, 19)))))
    assert codes(utc(24, 18), where=closing) == ["clinic-closure"]
    # 15:45 local: the visit would run to 16:15, past the nurse's hours.
    assert codes(utc(24, 22, 45)) == ["practitioner-not-working"]


def test_the_practitioner() -> None:
    assert codes(utc(24, 18), who=nurse(qualifications=frozenset({"aesthetician"}))) == ["practitioner-not-qualified"]
    assert codes(utc(24, 18), who=nurse(hours={})) == ["practitioner-not-working"]
    off = nurse(time_off=busy((utc(24, 15), utc(25, 1))))
    assert codes(utc(24, 18), who=off) == ["practitioner-off"]
    booked = nurse(busy=busy((utc(24, 18, 15), utc(24, 18, 45))))
    assert codes(utc(24, 18), who=booked) == ["practitioner-busy"]
    # Booked 11:30-12:00 local; a visit 12:00-12:30 needs ten minutes before it clear.
    previous = nurse(busy=busy((utc(24, 18, 30), utc(24, 19))))
    assert codes(utc(24, 19), who=previous) == ["practitioner-buffer"]
    assert codes(utc(24, 19, 10), who=previous) == []


def test_a_practitioner_who_gives_it_only_on_order_needs_the_patients_order_for_the_day() -> None:
    on_order = nurse(qualifications=frozenset(), on_order=frozenset({"may-inject"}))
    assert on_order.needs_order_for(BOTOX) and not on_order.qualified_for(BOTOX)
    assert codes(utc(24, 18), who=on_order) == ["practitioner-needs-order"]  # no order given: none
    assert codes(utc(24, 18), who=on_order, order_until=date(2026, 11, 24)) == []  # its last day, inclusive
    assert codes(utc(24, 18), who=on_order, order_until=date(2026, 11, 23)) == ["practitioner-needs-order"]
    # 16:30 local on 23 Nov is 00:30 UTC on the 24th: the order's day is the clinic's day.
    assert codes(utc(24, 0, 30), who=on_order, order_until=date(2026, 11, 23)) == [
        "outside-opening-hours",
        "practitioner-not-working",
    ]
    # In their own right, an order changes nothing; without either, no order helps.
    assert codes(utc(24, 18), order_until=date(2026, 11, 1)) == []
    unqualified = nurse(qualifications=frozenset({"aesthetician"}))
    assert codes(utc(24, 18), who=unqualified, order_until=date(2027, 1, 1)) == ["practitioner-not-qualified"]


def test_rooms_and_devices() -> None:
    assert codes(utc(24, 18), room_id=None) == ["room-needed"]
    assert codes(utc(24, 18), room_id="attic") == ["room-unknown"]
    assert codes(utc(24, 18), room_id="consult") == ["room-wrong-kind"]
    video = OfferedTreatment("consultation", 15)
    assert codes(utc(24, 18), treatment=video, room_id=None) == []
    assert codes(utc(24, 18), treatment=video) == ["room-not-needed"]
    taken = clinic(rooms=(Room("one", "treatment", busy=busy((utc(24, 18), utc(24, 19)))),))
    assert codes(utc(24, 18), where=taken) == ["room-busy"]
    # The room's next booking starts at 11:30 local, when the visit ends: no time for the 15-minute clean-up.
    after = clinic(rooms=(Room("one", "treatment", busy=busy((utc(24, 18, 30), utc(24, 19)))),))
    assert codes(utc(24, 18), where=after) == ["room-buffer"]
    laser = OfferedTreatment("ipl", 45, device_kind="laser", room_kind="treatment")
    assert codes(utc(24, 18), treatment=laser) == ["device-needed"]
    assert codes(utc(24, 18), treatment=laser, device_id="laser-1") == []
    assert codes(utc(24, 18), treatment=laser, device_id="laser-9") == ["device-unknown"]
    used = clinic(devices=(Device("laser-1", "laser", busy=busy((utc(24, 18), utc(24, 18, 30)))),))
    assert codes(utc(24, 18), where=used, treatment=laser, device_id="laser-1") == ["device-busy"]
    fixed = clinic(rooms=(Room("one", "treatment", frozenset({"laser"})),))
    assert codes(utc(24, 18), where=fixed, treatment=laser) == []
    wrong = clinic(devices=(Device("laser-1", "cryo"),))
    assert codes(utc(24, 18), where=wrong, treatment=laser, device_id="laser-1") == ["device-wrong-kind"]


def test_notice_horizon_and_the_patient() -> None:
    assert codes(utc(20, 18)) == ["too-soon"]  # 11:00 local today, only an hour ahead
    assert codes(utc(20, 19)) == []  # two hours ahead, exactly
    # 90 days from Friday 20 Nov is Thursday 18 Feb 2027; 19 Feb is beyond.
    assert codes(utc(18, 18, month=2, year=2027)) == []
    assert codes(utc(19, 18, month=2, year=2027)) == ["beyond-horizon"]
    assert codes(utc(24, 18), patient_busy=busy((utc(24, 17, 45), utc(24, 18, 15)))) == ["patient-busy"]


def test_every_reason_at_once_and_naive_times_refused() -> None:
    everything = codes(
        utc(25, 17, month=12),
        who=nurse(qualifications=frozenset()),
        room_id=None,
        patient_busy=busy((utc(25, 17, month=12), utc(25, 18, month=12))),
    )
    assert everything == ["clinic-closed-day", "practitioner-not-qualified", "room-needed", "patient-busy"]
    assert all(code in {r.value for r in Refused} for code in everything)
    with pytest.raises(ValueError, match="timezone-aware"):
        check_booking(clinic(), BOTOX, nurse(), datetime(2026, 11, 24, 11), now=NOW)
