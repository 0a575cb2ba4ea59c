"""The slot finder on small clinics built in code. Every expected instant is written out by hand, in UTC, with
the Abbotsford local time beside it."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
import safewindow.domain.slots as slots_module
from safewindow.clock import clinic_zone
from safewindow.domain.advice import Advice, advise
from safewindow.domain.availability import BookingPolicy, Clinic, Closures, Device, OfferedTreatment, Practitioner, Room
from safewindow.domain.history import PastVisit
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.slots import Fit, Patient, Slot, SlotRequest, find_slots
from safewindow.domain.weekly_hours import WeeklyHours
from tests.unit.builders import small_kb

VANCOUVER = clinic_zone("America/Vancouver")
EVERY_DAY = range(7)
KB = small_kb()
TOXIN = OfferedTreatment("toxin", 30, qualifications=frozenset({"may-inject"}), room_kind="treatment")


def utc(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def busy(*pairs: tuple[datetime, datetime]) -> BusyTimes:
    return BusyTimes.of(Interval(s, e) for s, e in pairs)


def nurse(
    pid: str = "n1", days: Sequence[int] = EVERY_DAY, start: time = time(10), end: time = time(16), **changes: object
) -> Practitioner:
    values: dict[str, object] = {
        "id": pid,
        "name": f"Nurse {pid}",
        "qualifications": frozenset({"may-inject"}),
        "hours": {"abbotsford": WeeklyHours.every(days, start, end)},
    }
    values.update(changes)
    return Practitioner(**values)  # type: ignore[arg-type]


def clinic(**changes: object) -> Clinic:
    values: dict[str, object] = {
        "id": "abbotsford",
        "zone": VANCOUVER,
        "opening": WeeklyHours.every(EVERY_DAY, time(9), time(17)),
        "rooms": (Room("one", "treatment"),),
    }
    values.update(changes)
    return Clinic(**values)  # type: ignore[arg-type]


def find(
    now: datetime,
    *,
    where: Clinic | None = None,
    staff: Sequence[Practitioner] = (),
    treatment: OfferedTreatment = TOXIN,
    **options: object,
) -> list[Slot]:
    request = SlotRequest(where or clinic(), treatment, tuple(staff) or (nurse(),), now, **options)  # type: ignore[arg-type]
    return find_slots(request)


def starts(found: Sequence[Slot]) -> list[datetime]:
    return [slot.start for slot in found]


# --- hours in the clinic's zone --------------------------------------------------------------------------


def test_ten_local_is_17_utc_from_november_2026() -> None:
    found = find(utc(30, 12), limit=3)  # Monday 30 Nov, 05:00 local
    assert starts(found) == [utc(30, 17), utc(30, 17, 15), utc(30, 17, 30)]  # 10:00, 10:15, 10:30 local
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in found)
    assert found[0].fit is None and found[0].warnings == ()  # no patient, no timing checked


def test_ten_local_follows_the_march_2026_clock_change() -> None:
    found = find(utc(6, 8, month=3), staff=[nurse(days=[0, 4])], limit=100)  # midnight on Friday 6 March
    first_of_day: dict[date, datetime] = {}
    for slot in found:
        first_of_day.setdefault(slot.start.astimezone(VANCOUVER).date(), slot.start)
    assert first_of_day[date(2026, 3, 6)] == utc(6, 18, month=3)  # 10:00 PST
    assert first_of_day[date(2026, 3, 9)] == utc(9, 17, month=3)  # 10:00 PDT


def test_no_slot_on_a_statutory_holiday() -> None:
    bc = holidays.country_holidays("CA", subdiv="BC", years=2026)
    closed = frozenset(day for day in bc if day.month == 12)
    assert date(2026, 12, 25) in closed
    found = find(utc(24, 20, month=12), where=clinic(closures=Closures(closed)), limit=4)  # 13:00 local
    # 15:00, 15:15, 15:30 local on 24 Dec, then 10:00 local on 26 Dec (BC does not keep Boxing Day).
    assert starts(found) == [
        utc(24, 22, month=12),
        utc(24, 22, 15, month=12),
        utc(24, 22, 30, month=12),
        utc(26, 17, month=12),
    ]


def test_no_slot_in_a_closure() -> None:
    training = Closures(times=busy((utc(24, 17), utc(24, 22))))  # 10:00-15:00 local on 24 Nov
    found = find(utc(24, 12), where=clinic(closures=training), limit=3)
    assert starts(found) == [utc(24, 22), utc(24, 22, 15), utc(24, 22, 30)]  # 15:00 local on


# --- buffers, notice, horizon ----------------------------------------------------------------------------


def test_buffers_keep_other_visits_away() -> None:
    buffered = OfferedTreatment("toxin", 30, 10, 15, frozenset({"may-inject"}), "treatment")
    booked = nurse(busy=busy((utc(24, 18), utc(24, 19))))  # 11:00-12:00 local
    found = find(utc(24, 12), staff=[booked], treatment=buffered, limit=4)
    # Before: the 15-minute clean-up must end by 11:00, so the last start is 10:15. After: 10 minutes of
    # preparation from 12:00, so 12:10, and the grid makes it 12:15.
    assert starts(found) == [utc(24, 17), utc(24, 17, 15), utc(24, 19, 15), utc(24, 19, 30)]


def test_buffers_keep_the_room_clear_too() -> None:
    buffered = OfferedTreatment("toxin", 30, 0, 15, frozenset({"may-inject"}), "treatment")
    room = Room("one", "treatment", busy=busy((utc(24, 17, 45), utc(24, 18, 15))))  # 10:45-11:15 local
    found = find(utc(24, 12), where=clinic(rooms=(room,)), treatment=buffered, limit=2)
    assert starts(found) == [utc(24, 17), utc(24, 18, 15)]  # 10:00 (clean-up to 10:45), then 11:15


def test_minimum_notice() -> None:
    found = find(utc(24, 17, 5), limit=2)  # 10:05 local; two hours' notice makes it 12:05
    assert starts(found) == [utc(24, 19, 15), utc(24, 19, 30)]  # 12:15, 12:30 local
    found = find(utc(24, 17, 5), policy=BookingPolicy(minimum_notice=timedelta(days=2)), limit=1)
    assert starts(found) == [utc(26, 17, 15)]  # 10:15 local two days on


def test_horizon_counts_days_in_the_clinic_zone() -> None:
    # Friday 20 Nov, 10:00 local; a three-day horizon ends on Monday 23 Nov.
    found = find(utc(20, 17), staff=[nurse(days=range(5))], policy=BookingPolicy(horizon_days=3), limit=100)
    assert len(found) == 15 + 23  # 12:00-15:30 on Friday, 10:00-15:30 on Monday
    assert found[-1].start == utc(23, 22, 30)  # 15:30 local on Monday 23 Nov


def test_a_window_of_days_within_the_horizon() -> None:
    found = find(utc(20, 17), first_day=date(2026, 12, 1), last_day=date(2026, 12, 2), limit=100)
    assert {slot.start.astimezone(VANCOUVER).date() for slot in found} == {date(2026, 12, 1), date(2026, 12, 2)}
    assert found[0].start == utc(1, 17, month=12)  # 10:00 local on 1 Dec
    assert find(utc(20, 17), first_day=date(2026, 11, 1), limit=1)[0].start == utc(20, 19)  # today, 12:00 local
    assert find(utc(20, 17), first_day=date(2027, 2, 19)) == []  # past the 90-day horizon (18 Feb)


def test_step_grid_runs_from_local_midnight() -> None:
    late = nurse(start=time(10, 10))
    found = find(utc(24, 12), staff=[late], policy=BookingPolicy(step_minutes=20), limit=2)
    assert starts(found) == [utc(24, 17, 20), utc(24, 17, 40)]  # 10:20, 10:40 local


# --- who, which room, which device -----------------------------------------------------------------------


def test_an_aesthetician_cannot_get_a_botox_slot() -> None:
    aesthetician = nurse("a1", qualifications=frozenset({"aesthetician"}))
    found = find(utc(24, 12), staff=[aesthetician, nurse("n1")], limit=20)
    assert {slot.practitioner_id for slot in found} == {"n1"}
    assert find(utc(24, 12), staff=[aesthetician], limit=20) == []
    facial = OfferedTreatment("facial", 60, room_kind="treatment")  # no qualification asked
    assert {s.practitioner_id for s in find(utc(24, 12), staff=[aesthetician, nurse()], treatment=facial)} == {
        "a1",
        "n1",
    }


def test_rooms_of_the_kind_must_be_free() -> None:
    rooms = (Room("consult", "consultation"), Room("one", "treatment", busy=busy((utc(24, 17), utc(24, 18)))))
    found = find(utc(24, 12), where=clinic(rooms=rooms), limit=1)
    assert (found[0].start, found[0].room_id) == (utc(24, 18), "one")  # 11:00 local, when the room frees
    assert find(utc(24, 12), where=clinic(rooms=(Room("consult", "consultation"),)), limit=1) == []


def test_the_shared_device_must_be_free_unless_the_room_has_its_own() -> None:
    laser = OfferedTreatment(
        "ipl", 60, qualifications=frozenset({"may-inject"}), room_kind="treatment", device_kind="laser"
    )
    device = Device("laser-1", "laser", busy=busy((utc(24, 17), utc(24, 19))))  # 10:00-12:00 local
    shared = clinic(rooms=(Room("one", "treatment"), Room("two", "treatment")), devices=(device,))
    found = find(utc(24, 12), where=shared, treatment=laser, limit=1)
    assert (found[0].start, found[0].room_id, found[0].device_id) == (utc(24, 19), "one", "laser-1")
    fixed = clinic(
        rooms=(Room("one", "treatment"), Room("laser-room", "treatment", frozenset({"laser"}))), devices=(device,)
    )
    found = find(utc(24, 12), where=fixed, treatment=laser, limit=1)
    assert (found[0].start, found[0].room_id, found[0].device_id) == (utc(24, 17), "laser-room", None)
    assert find(utc(24, 12), treatment=laser, limit=1) == []  # no laser anywhere


def test_a_treatment_without_a_room_gets_none() -> None:
    video = OfferedTreatment("consultation", 15, qualifications=frozenset({"may-inject"}))
    found = find(utc(24, 12), where=clinic(rooms=()), treatment=video, limit=1)
    assert (found[0].start, found[0].room_id, found[0].device_id) == (utc(24, 17), None, None)


def test_one_practitioner_only() -> None:
    staff = [nurse("n1"), nurse("n2", start=time(11))]
    assert [(s.start, s.practitioner_id) for s in find(utc(24, 12), staff=staff, limit=2)] == [
        (utc(24, 17), "n1"),
        (utc(24, 17, 15), "n1"),
    ]
    found = find(utc(24, 12), staff=staff, practitioner_id="n2", limit=2)
    assert [(s.start, s.practitioner_id) for s in found] == [(utc(24, 18), "n2"), (utc(24, 18, 15), "n2")]
    with pytest.raises(ValueError, match="practitioner_id"):
        find(utc(24, 12), staff=staff, practitioner_id="n3")


def test_limit_and_order_earliest_first_then_by_practitioner() -> None:
    staff = [nurse("n2"), nurse("n1")]
    found = find(utc(24, 12), staff=staff, limit=3)
    assert [(s.start, s.practitioner_id) for s in found] == [
        (utc(24, 17), "n1"),
        (utc(24, 17), "n2"),
        (utc(24, 17, 15), "n1"),
    ]
    assert find(utc(24, 12), limit=0) == []


def test_a_practitioner_at_another_clinic_only_is_skipped() -> None:
    elsewhere = nurse(hours={"chilliwack": WeeklyHours.every(EVERY_DAY, time(9), time(17))})
    assert find(utc(24, 12), staff=[elsewhere]) == []


def test_a_request_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        find(datetime(2026, 11, 24, 12))
    with pytest.raises(ValueError, match="knowledge"):
        find(utc(24, 12), patient=Patient())
    with pytest.raises(ValueError, match="unique"):
        find(utc(24, 12), staff=[nurse("n1"), nurse("n1")])


# --- the patient's history -------------------------------------------------------------------------------

ONE_A_DAY = [nurse(start=time(10), end=time(10, 30))]  # one slot a day, at 10:00 local


def days_and_fits(found: Sequence[Slot]) -> list[tuple[date, Fit | None]]:
    return [(slot.start.astimezone(VANCOUVER).date(), slot.fit) for slot in found]


def test_toxin_after_needling_waits_and_is_ideal_for_two_weeks() -> None:
    patient = Patient((PastVisit("needling", date(2026, 11, 10)),))
    found = find(utc(11, 17), staff=ONE_A_DAY, patient=patient, knowledge=KB, limit=20)
    assert found[0].start == utc(24, 17)  # not before 24 Nov, 10:00 local
    day = date(2026, 11, 24)
    expected = [(day + timedelta(days=n), Fit.IDEAL if n <= 14 else Fit.ALLOWED) for n in range(20)]
    assert days_and_fits(found) == expected  # ideal 24 Nov - 8 Dec, allowed from 9 Dec
    assert found[14].warnings == ()
    assert [r.rule for r in found[15].warnings] == ["ideal-window"]


def test_botox_after_microneedling_with_the_shipped_knowledge() -> None:
    from safewindow.knowledge.loader import default_knowledge_base

    botox = OfferedTreatment("botox", 30, qualifications=frozenset({"may-inject"}), room_kind="treatment")
    patient = Patient((PastVisit("microneedling", date(2026, 11, 10)),))
    kb = default_knowledge_base()
    found = find(utc(11, 17), staff=ONE_A_DAY, treatment=botox, patient=patient, knowledge=kb, limit=20)
    assert found[0].start == utc(24, 17)
    assert [d for d, fit in days_and_fits(found) if fit is Fit.IDEAL][-1] == date(2026, 12, 8)
    assert days_and_fits(found)[15] == (date(2026, 12, 9), Fit.ALLOWED)


def test_the_advisor_is_asked_once_per_day_not_per_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[date | None] = []

    def counting(*args: object, **kwargs: object) -> Advice:
        asked.append(kwargs["on"])  # type: ignore[arg-type]
        return advise(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(slots_module, "advise", counting)
    patient = Patient((PastVisit("needling", date(2026, 11, 10)),))
    found = find(utc(11, 17), patient=patient, knowledge=KB, limit=60)  # 24 slots a day
    assert len({slot.start.astimezone(VANCOUVER).date() for slot in found}) == 3
    assert len(asked) == len(set(asked))
    # 11 Nov (which says: not before 24 Nov), then 24, 25 and 26 Nov.
    assert asked == [date(2026, 11, 11), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]


def test_a_day_blocked_by_a_booked_visit_is_skipped() -> None:
    # Needling booked on 10 Dec: toxin by 26 Nov, or from 24 Dec. Today 25 Nov.
    patient = Patient((PastVisit("needling", date(2026, 12, 10)),))
    found = find(utc(25, 12), staff=ONE_A_DAY, patient=patient, knowledge=KB, limit=20)
    assert [d for d, _ in days_and_fits(found)][:3] == [date(2026, 11, 25), date(2026, 11, 26), date(2026, 12, 24)]


def test_a_factor_that_blocks_leaves_no_slot() -> None:
    patient = Patient((), ("pregnant",))
    assert find(utc(11, 17), patient=patient, knowledge=KB) == []


def test_a_warning_factor_is_carried_on_every_slot() -> None:
    patient = Patient((), ("thinners",))
    found = find(utc(11, 17), patient=patient, knowledge=KB, limit=2)
    assert [slot.fit for slot in found] == [Fit.ALLOWED, Fit.ALLOWED]
    assert [r.rule for r in found[0].warnings] == ["thinners"]


def test_no_slot_while_the_patient_is_booked_elsewhere() -> None:
    patient = Patient(busy=busy((utc(24, 17), utc(24, 17, 45))))  # 10:00-10:45 local
    found = find(utc(24, 12), patient=patient, knowledge=KB, limit=2)
    assert starts(found) == [utc(24, 17, 45), utc(24, 18)]
    assert [slot.fit for slot in found] == [Fit.IDEAL, Fit.IDEAL]  # no history: ok, no window


# --- prescribers' orders ---------------------------------------------------------------------------------


def test_a_nurse_who_injects_only_on_order_is_offered_on_the_days_the_patients_order_covers() -> None:
    on_order = nurse("n2", qualifications=frozenset(), on_order=frozenset({"may-inject"}))
    now = utc(24, 12)  # Tuesday 24 Nov, 04:00 local
    assert find(now, staff=[on_order]) == []  # nobody's order: nobody to see
    assert find(now, staff=[on_order], patient=Patient(), knowledge=KB) == []
    covered = Patient(orders={"toxin": date(2026, 11, 25)})
    found = find(now, staff=[on_order], patient=covered, knowledge=KB, limit=100)
    days = {slot.start.astimezone(VANCOUVER).date() for slot in found}
    assert days == {date(2026, 11, 24), date(2026, 11, 25)}  # to its last day, then none
    assert find(now, staff=[on_order], patient=Patient(orders={"filler": date(2027, 1, 1)}), knowledge=KB) == []
    # Beside a nurse who injects in her own right, the order adds the other's slots at the same starts.
    both = find(now, staff=[nurse("n1"), on_order], patient=covered, knowledge=KB, limit=2)
    assert [(s.start, s.practitioner_id) for s in both] == [(utc(24, 17), "n1"), (utc(24, 17), "n2")]
