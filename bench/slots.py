"""Median milliseconds to find the first 10 safe botox slots for a patient with a history, at one of 3 clinics
with 200 practitioners and 100,000 booked visits over the 90 days searched; then with 200,000 visits, and the
ratio. Twice the visits on the same days and staff makes every diary twice as full. The booked time between
usable gaps is stepped over through each diary's index of gaps, and a practitioner is looked up only when they
could come next; but the tenth slot now comes later in the day, past the late shift's 10:00 start, so about
twice as many practitioners are looked up (some 33 against 17), most of them busy at the time asked, and rooms
are tried at more starts (5.5 against 2), more of them busy, before a free one: that is what remains in the
ratio. A control run keeps the density and doubles the diary instead (the other 100,000 visits in the 90 days
before), which isolates what the size of the diary costs.

The three worlds are built first and then searched in turn, one search each per round, so that whatever else
the machine does meanwhile falls on all three alike: measured one after another, 200 searches of a fifth of a
millisecond each took 40 ms per world, and one busy moment could move a ratio from 1.4 to 3.

Reproduce: .venv/bin/python bench/slots.py"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import holidays

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.availability import Clinic, Closures, OfferedTreatment, Practitioner, Room
from safewindow.domain.history import PastVisit
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.slots import Patient, SlotRequest, find_slots
from safewindow.domain.weekly_hours import ClinicDay, WeeklyHours

ZONE = clinic_zone("America/Vancouver")
FIRST_DAY = date(2026, 11, 11)
DAYS = 90
PRACTITIONERS = 200
CLINICS = ("abbotsford-south-fraser", "abbotsford-west", "abbotsford-mill-lake")
ROOMS_PER_CLINIC = 60
ROUNDS = 2_000  # searches per world: under a second each
NOW = datetime(2026, 11, 11, 17, 0, tzinfo=UTC)  # 09:00 in Abbotsford
BOTOX = OfferedTreatment(
    "botox",
    30,
    buffer_before_minutes=5,
    buffer_after_minutes=10,
    qualifications=frozenset({"may-inject"}),
    room_kind="treatment",
)


def knowledge() -> tuple[KnowledgeBase, str]:
    try:
        from safewindow.knowledge.loader import default_knowledge_base

        return default_knowledge_base(), "the real knowledge base"
    except Exception as error:  # the data files may be mid-edit; the small one still exercises the advisor
        from tests.unit.builders import small_kb

        print(f"(real knowledge base failed to load: {error}; using tests/unit/builders.small_kb)")
        return small_kb(), "tests/unit/builders.small_kb (real one failed to load)"


def world(visits: int, seed: int, days_before: int = 0) -> tuple[list[Clinic], list[Practitioner]]:
    """Practitioners working Mon-Sat, early or late, at one clinic each; `visits` random visits of 15-45
    minutes on the 15-minute grid, never overlapping for a practitioner or a room, over the 90 days searched
    and `days_before` days before them."""
    rng = random.Random(seed)
    days = [FIRST_DAY + timedelta(days=n) for n in range(-days_before, DAYS)]
    closed = frozenset(d for d in holidays.country_holidays("CA", subdiv="BC", years=(2026, 2027)) if d in days)
    opening = WeeklyHours.every(range(6), clock(8), clock(20))
    shifts = [WeeklyHours.every(range(6), clock(8), clock(18)), WeeklyHours.every(range(6), clock(10), clock(20))]
    people = [
        (f"p{n:03}", CLINICS[n % 3], "may-inject" if n % 2 else "aesthetician", shifts[n % 4 // 2])
        for n in range(PRACTITIONERS)
    ]
    open_days = [d for d in days if d.weekday() < 6 and d not in closed]
    day_of = {d: ClinicDay(d, ZONE) for d in open_days}
    taken: dict[tuple[str, date], list[tuple[datetime, datetime]]] = defaultdict(list)
    rooms_taken: dict[tuple[str, date, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    by_person: dict[str, list[Interval]] = defaultdict(list)
    by_room: dict[tuple[str, int], list[Interval]] = defaultdict(list)
    placed = 0
    while placed < visits:
        pid, clinic, _, hours = rng.choice(people)
        day = rng.choice(open_days)
        (shift,) = hours.on(day_of[day])
        length = timedelta(minutes=rng.choice((15, 30, 45)))
        quarters = (shift.end - length - shift.start) // timedelta(minutes=15)
        start = shift.start + timedelta(minutes=15 * rng.randrange(quarters + 1))
        end = start + length
        if any(s < end and start < e for s, e in taken[pid, day]):
            continue
        room = rng.randrange(ROOMS_PER_CLINIC)
        if any(s < end and start < e for s, e in rooms_taken[clinic, day, room]):
            continue
        taken[pid, day].append((start, end))
        rooms_taken[clinic, day, room].append((start, end))
        by_person[pid].append(Interval(start, end))
        by_room[clinic, room].append(Interval(start, end))
        placed += 1
    clinics = [
        Clinic(
            c,
            ZONE,
            opening,
            Closures(dates=closed),
            rooms=tuple(
                Room(f"{c}-{n}", "treatment", busy=BusyTimes.of(by_room[c, n])) for n in range(ROOMS_PER_CLINIC)
            ),
        )
        for c in CLINICS
    ]
    practitioners = [
        Practitioner(pid, pid, frozenset({qualification}), {clinic: hours}, busy=BusyTimes.of(by_person[pid]))
        for pid, clinic, qualification, hours in people
    ]
    return clinics, practitioners


def patients(count: int) -> list[Patient]:
    """Microneedling between 1 and 20 November, after older botox and filler visits; some with sensitive skin."""
    rng = random.Random(11)
    result = []
    for n in range(count):
        needling = date(2026, 11, 1) + timedelta(days=rng.randrange(20))
        history = (
            PastVisit("botox", date(2026, 6, 1) + timedelta(days=rng.randrange(30))),
            PastVisit("dermal-filler", date(2026, 8, 1) + timedelta(days=rng.randrange(30))),
            PastVisit("microneedling", needling),
        )
        result.append(Patient(history, ("sensitive-skin",) if n % 3 == 0 else ()))
    return result


def requests_for(clinics: list[Clinic], practitioners: list[Practitioner], kb: KnowledgeBase) -> list[SlotRequest]:
    people = tuple(practitioners)
    return [
        SlotRequest(clinics[n % 3], BOTOX, people, NOW, limit=10, patient=patient, knowledge=kb)
        for n, patient in enumerate(patients(20))
    ]


def median_ms(worlds: list[list[SlotRequest]]) -> list[float]:
    """Each world's median milliseconds per search, the worlds taking turns search by search."""
    samples: list[list[float]] = [[] for _ in worlds]
    for n in range(ROUNDS):
        for requests, taken in zip(worlds, samples, strict=True):
            request = requests[n % len(requests)]
            began = time.perf_counter()
            found = find_slots(request)
            taken.append((time.perf_counter() - began) * 1000)
            assert len(found) == 10
    return [statistics.median(taken) for taken in samples]


def main() -> None:
    kb, which = knowledge()
    worlds = (
        ("100,000 visits in the 90 days", 100_000, 0),
        ("200,000 visits in the 90 days", 200_000, 0),
        ("control: 200,000 visits over 180 days", 200_000, DAYS),
    )
    requests, built = [], []
    for _, visits, days_before in worlds:
        began = time.perf_counter()
        clinics, practitioners = world(visits, seed=2026, days_before=days_before)
        built.append(time.perf_counter() - began)
        requests.append(requests_for(clinics, practitioners, kb))
    for world_requests in requests:  # the first search of each pattern of hours and day is not the measure
        for request in world_requests:
            find_slots(request)
    medians = median_ms(requests)
    for (label, _, _), seconds, median in zip(worlds, built, medians, strict=True):
        print(
            f"{label} (built in {seconds:.1f} s): first 10 safe botox slots, median "
            f"{median:.2f} ms over {ROUNDS} searches (target: under 5 ms)"
        )
    base, doubled, control = medians
    print(f"ratio 200,000 / 100,000 visits, diaries twice as full: {doubled / base:.2f} (target: at most 1.3)")
    print(f"ratio 200,000 / 100,000 visits, same fullness, twice the diary: {control / base:.2f}")
    print(
        f"{PRACTITIONERS} practitioners, {len(CLINICS)} clinics, {DAYS} days, {which}; searches interleaved; "
        f"python {sys.version.split()[0]}; reproduce: .venv/bin/python bench/slots.py"
    )


if __name__ == "__main__":
    main()
