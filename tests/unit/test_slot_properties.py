"""What must hold for any clinic, diary and patient: no slot clashes with anything (buffers included), every slot
lies in hours on an open day, the booking check accepts every slot and the finder offers every time the check
accepts, and with a patient no slot falls on a day the advisor blocks. Hours are checked against local times,
not through the finder's own conversion."""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.advice import Verdict, advise
from safewindow.domain.availability import BookingPolicy, Clinic, Closures, Device, OfferedTreatment, Practitioner, Room
from safewindow.domain.booking_check import Refused, check_booking
from safewindow.domain.history import PastVisit
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.slots import Fit, Patient, Slot, SlotRequest, find_slots
from safewindow.domain.weekly_hours import WeeklyHours
from tests.unit.builders import small_kb

VANCOUVER = clinic_zone("America/Vancouver")
KB = small_kb()
CLINIC = "abbotsford"
# From before the last spring clock change to after the move to permanent UTC-7.
FIRST, LAST = date(2026, 3, 1), date(2027, 1, 31)
EQUIPMENT = {Refused.ROOM_NEEDED, Refused.DEVICE_NEEDED}
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class World:
    request: SlotRequest
    busy_source: dict[str, tuple[Interval, ...]]  # what went in, to check against without the finder's index


def quarter_hours(low: int, high: int) -> st.SearchStrategy[time]:
    return st.integers(low * 4, high * 4).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def weekly_hours(draw: st.DrawFn) -> WeeklyHours:
    days = {}
    for weekday in range(7):
        if draw(st.booleans()) or weekday == 1:
            days[weekday] = [(draw(quarter_hours(6, 12)), draw(quarter_hours(13, 20)))]
    return WeeklyHours.of(days)


@st.composite
def diary(draw: st.DrawFn, start: datetime, most: int) -> tuple[Interval, ...]:
    intervals = []
    for _ in range(draw(st.integers(0, most))):
        since = start + timedelta(minutes=5 * draw(st.integers(0, 4 * 24 * 12)))
        intervals.append(Interval(since, since + timedelta(minutes=5 * draw(st.integers(1, 36)))))
    return tuple(intervals)


@st.composite
def worlds(draw: st.DrawFn, with_patient: bool = False) -> World:
    first = FIRST + timedelta(days=draw(st.integers(0, (LAST - FIRST).days)))
    midnight = datetime.combine(first, time(0), tzinfo=VANCOUVER).astimezone(UTC)
    now = midnight + timedelta(minutes=5 * draw(st.integers(0, 24 * 12)))
    sources: dict[str, tuple[Interval, ...]] = {}

    def busy(name: str, most: int) -> BusyTimes:
        sources[name] = draw(diary(midnight, most))
        return BusyTimes(sources[name])

    rooms = tuple(
        Room(
            f"r{n}",
            draw(st.sampled_from(["treatment", "consultation"])),
            frozenset({"laser"}) if draw(st.booleans()) else frozenset(),
            busy(f"room r{n}", 6),
        )
        for n in range(draw(st.integers(0, 3)))
    )
    devices = tuple(Device(f"d{n}", "laser", busy(f"device d{n}", 4)) for n in range(draw(st.integers(0, 2))))
    closed = frozenset(first + timedelta(days=n) for n in range(5) if draw(st.integers(0, 4)) == 0)
    clinic = Clinic(CLINIC, VANCOUVER, draw(weekly_hours()), Closures(closed, busy("closures", 2)), rooms, devices)
    staff = tuple(
        Practitioner(
            f"p{n}",
            f"P{n}",
            frozenset(draw(st.sets(st.sampled_from(["may-inject", "aesthetician"])))),
            {CLINIC: draw(weekly_hours())},
            busy(f"time off p{n}", 2),
            busy(f"practitioner p{n}", 8),
            # Some give a treatment only on a prescriber's order for the patient.
            frozenset(draw(st.sets(st.sampled_from(["may-inject", "aesthetician"]), max_size=1))),
        )
        for n in range(draw(st.integers(1, 3)))
    )
    treatment = OfferedTreatment(
        draw(st.sampled_from(["toxin", "needling", "filler", "peel"])),
        5 * draw(st.integers(3, 18)),
        5 * draw(st.integers(0, 4)),
        5 * draw(st.integers(0, 4)),
        frozenset(draw(st.sets(st.sampled_from(["may-inject", "aesthetician"]), max_size=1))),
        draw(st.sampled_from([None, "treatment", "consultation"])),
        draw(st.sampled_from([None, "laser"])),
    )
    policy = BookingPolicy(
        timedelta(minutes=30 * draw(st.integers(0, 8))),
        draw(st.integers(0, 3)),
        draw(st.sampled_from([10, 15, 20, 30])),
    )
    patient = None
    if draw(st.booleans()):  # no history nor bookings: only orders, covering the first few days or none
        ordered = draw(st.none() | st.integers(-1, 4).map(lambda n: first + timedelta(days=n)))
        patient = Patient(orders={treatment.slug: ordered} if ordered is not None else {})
    if with_patient:
        history = tuple(
            PastVisit(
                draw(st.sampled_from(["toxin", "needling", "filler", "device", "touchup"])),
                first + timedelta(days=draw(st.integers(-40, 20))),
            )
            for _ in range(draw(st.integers(0, 3)))
        )
        factors = tuple(draw(st.sets(st.sampled_from(["thinners", "slow", "sensitive", "pregnant"]), max_size=2)))
        patient = Patient(history, factors, busy=busy("patient", 3), orders=patient.orders if patient else {})
    limit = draw(st.integers(1, 400))
    window = [draw(st.none() | st.integers(-1, 4).map(lambda n: first + timedelta(days=n))) for _ in range(2)]
    request = SlotRequest(
        clinic,
        treatment,
        staff,
        now,
        policy,
        limit,
        patient=patient,
        knowledge=KB,
        first_day=window[0],
        last_day=window[1],
    )
    return World(request, sources)


def clashes(intervals: tuple[Interval, ...], start: datetime, end: datetime) -> bool:
    return any(i.start < end and start < i.end for i in intervals)


def in_hours(hours: WeeklyHours, slot: Slot) -> bool:
    start, end = slot.start.astimezone(VANCOUVER), slot.end.astimezone(VANCOUVER)
    return start.date() == end.date() and any(
        s <= start.time() and end.time() <= e for s, e in hours.days[start.weekday()]
    )


@PROPERTIES
@given(worlds())
def test_no_slot_clashes_with_anything_its_resources_or_the_clinic_hold(world: World) -> None:
    request, source = world.request, world.busy_source
    treatment = request.treatment
    for slot in find_slots(request):
        held_from, held_until = slot.start - treatment.before, slot.end + treatment.after
        assert not clashes(source[f"practitioner {slot.practitioner_id}"], held_from, held_until)
        assert not clashes(source[f"time off {slot.practitioner_id}"], slot.start, slot.end)
        assert not clashes(source["closures"], slot.start, slot.end)
        if slot.room_id is not None:
            assert not clashes(source[f"room {slot.room_id}"], held_from, held_until)
        if slot.device_id is not None:
            assert not clashes(source[f"device {slot.device_id}"], held_from, held_until)


@PROPERTIES
@given(worlds())
def test_every_slot_is_in_working_and_opening_hours_on_an_open_day(world: World) -> None:
    request = world.request
    staff = {p.id: p for p in request.practitioners}
    found = find_slots(request)
    today = request.now.astimezone(VANCOUVER).date()
    for slot in found:
        practitioner = staff[slot.practitioner_id]
        assert in_hours(request.clinic.opening, slot)
        assert in_hours(practitioner.hours[CLINIC], slot)
        assert practitioner.qualified_for(request.treatment)
        day = slot.start.astimezone(VANCOUVER).date()
        assert day not in request.clinic.closures.dates
        assert slot.start >= request.now + request.policy.minimum_notice
        assert day <= today + timedelta(days=request.policy.horizon_days)
        assert request.first_day is None or day >= request.first_day
        assert request.last_day is None or day <= request.last_day
        local_minutes = slot.start.astimezone(VANCOUVER).hour * 60 + slot.start.astimezone(VANCOUVER).minute
        assert local_minutes % request.policy.step_minutes == 0
        assert (request.treatment.room_kind is None) == (slot.room_id is None)
    assert len(found) <= request.limit
    assert [(s.start, s.practitioner_id) for s in found] == sorted((s.start, s.practitioner_id) for s in found)


@PROPERTIES
@given(worlds())
def test_the_booking_check_accepts_every_slot(world: World) -> None:
    request = world.request
    staff = {p.id: p for p in request.practitioners}
    for slot in find_slots(request):
        refusals = check_booking(
            request.clinic,
            request.treatment,
            staff[slot.practitioner_id],
            slot.start,
            now=request.now,
            policy=request.policy,
            room_id=slot.room_id,
            device_id=slot.device_id,
            order_until=order_until(request),
        )
        assert refusals == []


def refused(
    request: SlotRequest, practitioner: Practitioner, start: datetime, room: str | None, device: str | None
) -> set[Refused]:
    return {
        r.code
        for r in check_booking(
            request.clinic,
            request.treatment,
            practitioner,
            start,
            now=request.now,
            policy=request.policy,
            room_id=room,
            device_id=device,
            order_until=order_until(request),
        )
    }


def order_until(request: SlotRequest) -> date | None:
    return request.patient.orders.get(request.treatment.slug) if request.patient is not None else None


@PROPERTIES
@given(worlds())
def test_every_time_the_booking_check_accepts_is_offered(world: World) -> None:
    request = replace(world.request, limit=10_000, first_day=None, last_day=None)  # the check knows no window
    clinic, policy = request.clinic, request.policy
    offered = {(slot.start, slot.practitioner_id) for slot in find_slots(request)}
    today = request.now.astimezone(VANCOUVER).date()
    rooms: list[str | None] = [None, *(room.id for room in clinic.rooms)]
    devices: list[str | None] = [None, *(device.id for device in clinic.devices)]
    for n in range(policy.horizon_days + 1):
        midnight = datetime.combine(today + timedelta(days=n), time(0), tzinfo=VANCOUVER).astimezone(UTC)
        for k in range(24 * 60 // policy.step_minutes):
            start = midnight + k * policy.step
            for practitioner in request.practitioners:
                # Without room and device first: if anything else refuses, no room or device can help.
                alone = refused(request, practitioner, start, None, None)
                accepted = not alone or (
                    alone <= EQUIPMENT
                    and any(
                        not refused(request, practitioner, start, room, device) for room in rooms for device in devices
                    )
                )
                assert accepted == ((start, practitioner.id) in offered), (start, practitioner.id)


@PROPERTIES
@given(worlds(with_patient=True))
def test_with_a_patient_no_slot_falls_on_a_day_the_advisor_blocks(world: World) -> None:
    request = world.request
    patient = request.patient
    assert patient is not None
    today = request.now.astimezone(VANCOUVER).date()
    found = find_slots(replace(request, limit=10_000))
    unchecked = find_slots(replace(request, limit=10_000, patient=Patient(busy=patient.busy, orders=patient.orders)))

    def advice_on(day: date) -> tuple[Verdict | None, Fit]:
        advice = advise(KB, request.treatment.slug, patient.history, patient.factors, today=today, on=day)
        if advice.ideal_start is not None and advice.ideal_end is not None:
            ideal = advice.ideal_start <= day <= advice.ideal_end
        else:
            ideal = advice.verdict is Verdict.OK
        return advice.verdict, Fit.IDEAL if ideal else Fit.ALLOWED

    def local_day(slot: Slot) -> date:
        return slot.start.astimezone(VANCOUVER).date()

    for slot in found:
        verdict, fit = advice_on(local_day(slot))
        assert verdict is not Verdict.BLOCK
        assert slot.fit is fit
    # Only blocked days are lost: the same slots as without a history, on every day the advisor allows.
    allowed = [(s.start, s.practitioner_id) for s in unchecked if advice_on(local_day(s))[0] is not Verdict.BLOCK]
    assert [(s.start, s.practitioner_id) for s in found] == allowed
