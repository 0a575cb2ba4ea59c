"""Bookings per second through `services.booking.book` with 64 concurrent clients on PostgreSQL (threads spread
over --processes processes, as a web app's workers; each process one engine whose pool holds a connection per
client; each unit of work its own session), next to the raw INSERT
rate of the same `visits` table in the same run (the same 64 clients, one plain INSERT of a visit that overlaps
nothing per transaction, no checks) and the ratio (target: booking at least half the raw rate); the rates of
the booking's own reads and writes with no checks, as the booking runs them and in the fewest round trips
PostgreSQL allows (bench/booking_skeleton.py): the ceilings for a booking that checks; how fast one
worker then writes those bookings' mail (notice with calendar file, reminders, aftercare: the work a booking
records but leaves to the worker, so it is not hidden from the figures); the round trips to the server that
one booking and one raw insert each take (statements, BEGIN and COMMIT, the pool's ping: each round trip costs
both sides a send, a wake-up and a receive, so their ratio bounds the ratio of the rates); then bookings
per second with 8 processes on SQLite (a temporary file, each process its own engine); and, on each database
afterwards, the visits that overlap another active visit of the same practitioner, room, device or patient
(must be 0).

The world: the demo, plus 16 clinics open Tue-Sat 09-17, each with 4 physicians and 4 treatment rooms, and
12,000 patients. A client books botox or filler at a random clinic, day and quarter hour over the next 12 open
days, mostly for a patient of its own and sometimes (1 in 10) for one of 200 regulars every client books for,
so clients mostly book different resources but sometimes collide over a practitioner, a room or a patient. A
refusal is a normal outcome: the diary fills, and a regular may not have botox twice within 90 days.

Each client process warms up before the clock starts, as a web app's worker has by its second request (see
`warm_up`): 64 cold processes on two cores otherwise spend the measurement importing and compiling.

PostgreSQL: a scratch database on the server SAFEWINDOW_TEST_POSTGRES_URL names (default below), dropped at the
end. Reproduce: SAFEWINDOW_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
.venv/bin/python bench/booking.py [--seconds 10] [--processes 4]"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from uuid import uuid4

import booking_skeleton as skeleton  # the booking's reads and writes without checks, beside this file
from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Refused, book
from safewindow.services.clinic_view import bc_holidays
from safewindow.services.notifications import write_mail_for_changes
from safewindow.store import migrate, models
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.outbox_models import VisitChange
from safewindow.store.unit_of_work import UnitOfWork

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ZONE_NAME = "America/Vancouver"
ZONE = clinic_zone(ZONE_NAME)
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
CLIENTS = 64
PROCESSES = 8
CLINICS = 16
PER_CLINIC = 4  # physicians, and treatment rooms
PATIENTS = 12_000
DAYS = 12  # open days booked into: few enough that clients sometimes want one practitioner or room at once
REGULARS = 200  # patients every client books for now and then, so patients collide too
REUSE = 0.1  # share of bookings for a regular rather than a patient of the client's own
TUE_TO_SAT = range(1, 6)
QUARTERS = [clock(9 + q // 4, 15 * (q % 4)) for q in range(30)]  # 09:00-16:15: a 45-minute filler still fits
OFFER = (("botox", 30, 5, 10), ("dermal-filler", 45, 10, 15))  # slug, minutes, buffer before, buffer after
TREATMENTS = ("botox",) * 4 + ("dermal-filler",)
RAW_EPOCH = datetime(2031, 1, 1, tzinfo=UTC)  # raw inserts: one 30-minute visit per half hour from here on
# Each resource with the stretch a visit holds it: a practitioner, room or device for the buffers too.
RESOURCES = (
    ("practitioner_id", "held_from", "held_until"),
    ("room_id", "held_from", "held_until"),
    ("device_id", "held_from", "held_until"),
    ("patient_id", "start_at", "end_at"),
)
# Per resource, each active visit against the latest end among the visits that start before it: one pass, so
# the count stays cheap on the tens of thousands of rows a run leaves.
OVERLAPPING = """
SELECT count(*) FROM (
    SELECT {since} AS since, max({until}) OVER (
        PARTITION BY {column} ORDER BY {since}, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS busy_until
    FROM visits WHERE {column} IS NOT NULL AND status IN ('booked', 'completed')
) AS held WHERE since < busy_until
"""


@dataclass(frozen=True)
class World:
    clinics: tuple[int, ...]
    practitioners: tuple[int, ...]
    rooms: tuple[int, ...]
    patients: tuple[int, ...]
    days: tuple[date, ...]


def populate(sessions: sessionmaker[Session]) -> World:
    """The demo, then the bench's clinics, physicians, rooms and patients, straight through the models."""
    with UnitOfWork(sessions, write=True) as uow:
        session = uow.session
        load_demo(session)
        physician = session.get(models.Qualification, "physician")
        assert physician is not None
        for k in range(CLINICS):
            clinic = models.Clinic(
                slug=f"bench-{k:02}", name=f"Bench Clinic {k:02}", address="Abbotsford, BC", time_zone=ZONE_NAME
            )
            clinic.hours = [models.ClinicHours(weekday=d, opens=clock(9), closes=clock(17)) for d in TUE_TO_SAT]
            clinic.rooms = [models.Room(name=f"Room {n}", kind="treatment") for n in range(PER_CLINIC)]
            clinic.treatments = [
                models.ClinicTreatment(
                    treatment_slug=slug,
                    duration_minutes=minutes,
                    buffer_before_minutes=before,
                    buffer_after_minutes=after,
                    required_permission_id="may-inject",
                    required_room_kind="treatment",
                )
                for slug, minutes, before, after in OFFER
            ]
            clinic.policy = models.BookingPolicy(min_notice_minutes=120, horizon_days=90, slot_step_minutes=15)
            session.add(clinic)
            session.flush()
            for n in range(PER_CLINIC):
                practitioner = models.Practitioner(
                    name=f"Dr. Bench {k:02}-{n}", email=f"bench-{k:02}-{n}@bench.example", qualifications=[physician]
                )
                practitioner.hours = [
                    models.PractitionerHours(clinic_id=clinic.id, weekday=d, starts=clock(9), ends=clock(17))
                    for d in TUE_TO_SAT
                ]
                session.add(practitioner)
        first_patient = (session.scalar(select(func.max(models.Patient.id))) or 0) + 1
        session.execute(
            insert(models.Patient),
            [
                {"name": f"Bench Patient {n}", "birth_date": date(1990, 1, 1), "email": f"patient-{n}@bench.example"}
                for n in range(PATIENTS)
            ],
        )
        uow.commit()
        bench = select(models.Clinic.id).where(models.Clinic.slug.like("bench-%"))
        staff = select(models.PractitionerHours.practitioner_id).where(models.PractitionerHours.clinic_id.in_(bench))
        world = World(
            clinics=tuple(session.scalars(bench.order_by(models.Clinic.id))),
            practitioners=tuple(
                session.scalars(
                    select(models.Practitioner.id)
                    .where(models.Practitioner.id.in_(staff))
                    .order_by(models.Practitioner.id)
                )
            ),
            rooms=tuple(
                session.scalars(
                    select(models.Room.id)
                    .where(models.Room.clinic_id.in_(bench))
                    .order_by(models.Room.clinic_id, models.Room.id)
                )
            ),
            patients=tuple(session.scalars(select(models.Patient.id).where(models.Patient.id >= first_patient))),
            days=open_days(),
        )
    return world


def open_days() -> tuple[date, ...]:
    first = NOW.astimezone(ZONE).date() + timedelta(days=1)
    days = [first + timedelta(days=n) for n in range(120)]
    closed = bc_holidays({d.year for d in days})
    return tuple(d for d in days if d.weekday() in TUE_TO_SAT and d not in closed)[:DAYS]


def booking_client(
    sessions: sessionmaker[Session], kb: KnowledgeBase, world: World, client: int, clients: int, deadline: float
) -> Counter[str]:
    """Books until the deadline; counts `booked` and each refusal's first code."""
    rng = random.Random(client)
    regulars, own = world.patients[:REGULARS], iter(world.patients[REGULARS + client :: clients])
    outcomes: Counter[str] = Counter()
    while time.perf_counter() < deadline:
        patient = rng.choice(regulars) if rng.random() < REUSE else next(own, None) or rng.choice(regulars)
        start = datetime.combine(rng.choice(world.days), rng.choice(QUARTERS), ZONE).astimezone(UTC)
        try:
            book(
                sessions,
                kb,
                patient_id=patient,
                treatment=rng.choice(TREATMENTS),
                clinic_id=rng.choice(world.clinics),
                start=start,
                actor="bench",
                now=NOW,
            )
            outcomes["booked"] += 1
        except Refused as refused:
            outcomes[f"refused: {refused.problems[0].code}"] += 1
        except Exception as error:
            outcomes[f"error: {type(error).__name__}: {str(error).splitlines()[0][:120]}"] += 1
    return outcomes


def insert_client(
    sessions: sessionmaker[Session], world: World, client: int, clients: int, deadline: float, work: str = "insert"
) -> Counter[str]:
    """One plain INSERT per transaction (or one of the skeleton's transactions, `work`); the n-th visit of all
    clients takes the n-th half hour from the work's epoch, so none overlap."""
    outcomes: Counter[str] = Counter()
    write, epoch = WRITERS[work], RAW_EPOCH if work == "insert" else skeleton.EPOCHS[work]
    n = client
    while time.perf_counter() < deadline:
        write(sessions, world, n, epoch + timedelta(minutes=30 * n))
        outcomes["inserted"] += 1
        n += clients
    return outcomes


def insert_one(sessions: sessionmaker[Session], world: World, n: int, start: datetime) -> None:
    with UnitOfWork(sessions, write=True) as uow:
        uow.session.execute(
            insert(models.Visit).values(
                patient_id=world.patients[n % len(world.patients)],
                clinic_id=world.clinics[n % len(world.clinics)],
                treatment_slug="botox",
                practitioner_id=world.practitioners[n % len(world.practitioners)],
                room_id=world.rooms[n % len(world.rooms)],
                start_at=start,
                end_at=start + timedelta(minutes=30),
                held_from=start,
                held_until=start + timedelta(minutes=30),
                status=models.VisitStatus.BOOKED,
                created_by="bench-raw",
            )
        )
        uow.commit()


# Transactions that write one visit each, by the name a client process is given.
WRITERS: dict[str, Callable[[sessionmaker[Session], World, int, datetime], None]] = {
    "insert": insert_one,
    "unchecked": lambda sessions, world, n, start: skeleton.unchecked_one(sessions, world, PER_CLINIC, n, start),
    "fewest": lambda sessions, world, n, start: skeleton.fewest_one(sessions, world, PER_CLINIC, n, start),
}
Outcome = tuple[Counter[str], float]


def in_threads(work: Callable[[int, float], Counter[str]], clients: int, seconds: float) -> tuple[Counter[str], float]:
    """`clients` threads start together and run `work(client, deadline)`; the outcomes and the seconds taken."""
    barrier = threading.Barrier(clients + 1)
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def run(client: int) -> None:
        barrier.wait()
        done = work(client, time.perf_counter() + seconds)
        with lock:
            totals.update(done)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return totals, time.perf_counter() - began


def warm_up(sessions: sessionmaker[Session], kb: KnowledgeBase, world: World, work: str, first: int) -> None:
    """What a web app's worker has done by the time it serves its second request: imported the holidays
    calendar, configured the mappers, compiled its statements and read the setup of every clinic. Without it,
    64 fresh processes spend most of a measurement warming up (about 0.2 s of CPU each, then 10 ms for each
    clinic's first booking) on two cores. Bookings six days in the past, refused, so nothing is written; one raw
    insert a year before the raw inserts' own times."""
    if work != "book":
        epoch = RAW_EPOCH if work == "insert" else skeleton.EPOCHS[work]
        WRITERS[work](sessions, world, first, epoch - timedelta(days=365) + timedelta(hours=first))
        return
    past = datetime.combine(open_days()[0] - timedelta(days=7), QUARTERS[4], ZONE).astimezone(UTC)
    for clinic in world.clinics:
        try:
            book(
                sessions,
                kb,
                patient_id=world.patients[first],
                treatment="botox",
                clinic_id=clinic,
                start=past,
                actor="bench",
                now=NOW,
            )
        except Refused:
            pass
        else:
            raise AssertionError("a warm-up booking in the past was booked")


def client_process(
    url: str,
    world: World,
    work: str,
    first: int,
    threads: int,
    clients: int,
    seconds: float,
    ready: Queue[Any],
    go: Event,
    results: Queue[Any],
) -> None:
    """One process of clients `first` .. `first + threads - 1` of `clients`, each a thread with its own
    connection from this process's engine, booking or inserting (`work`) until the deadline."""
    engine = make_engine(url, pool_size=threads, max_overflow=0) if url.startswith("postgresql") else make_engine(url)
    try:
        sessions = make_session_factory(engine)
        kb = default_knowledge_base()
        warm_up(sessions, kb, world, work, first)
        ready.put(first)
        go.wait()

        def run(client: int, deadline: float) -> Counter[str]:
            if work == "book":
                return booking_client(sessions, kb, world, client, clients, deadline)
            return insert_client(sessions, world, client, clients, deadline, work)

        outcomes, _ = in_threads(lambda n, deadline: run(first + n, deadline), threads, seconds)
        results.put(outcomes)
    finally:
        engine.dispose()


def in_processes(url: str, world: World, work: str, processes: int, threads: int, seconds: float) -> Outcome:
    """`processes` processes of `threads` client threads each start together; the outcomes and the seconds
    taken. Processes, as a web app's workers are: one interpreter lock per process, not one for all clients."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    clients = processes * threads
    arguments = [
        (url, world, work, n * threads, threads, clients, seconds, ready, go, results) for n in range(processes)
    ]
    children = [context.Process(target=client_process, args=a, daemon=True) for a in arguments]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=120)
    go.set()
    began = time.perf_counter()
    totals: Counter[str] = Counter()
    for _ in children:
        totals.update(results.get(timeout=seconds + 120))
    elapsed = time.perf_counter() - began
    for child in children:
        child.join(timeout=30)
    return totals, elapsed


def double_bookings(engine: Engine) -> int:
    """Active visits that begin holding a resource before an earlier one holding it lets it go (buffers
    included for practitioners, rooms and devices)."""
    total = 0
    with engine.connect() as connection:
        for column, since, until in RESOURCES:
            total += connection.scalar(text(OVERLAPPING.format(column=column, since=since, until=until))) or 0
    return total


def write_mail(url: str) -> tuple[int, int, float]:
    """One worker's first step over every change the booking run recorded: changes, messages, seconds."""
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        with UnitOfWork(sessions) as uow:
            changes = uow.session.scalar(select(func.count()).select_from(VisitChange)) or 0
        kb, batch = default_knowledge_base(), 500
        began = time.perf_counter()
        messages = write_mail_for_changes(sessions, kb=kb, batch=batch, rounds=-(-changes // batch))
        return changes, messages, time.perf_counter() - began
    finally:
        engine.dispose()


def round_trips(url: str, world: World) -> tuple[str, str]:
    """Round trips to the server per booking and per raw insert, on one client after the timed runs: every
    statement, BEGIN and COMMIT or ROLLBACK of each transaction, and the pool's ping at each checkout. Each
    costs both sides a send, a wake-up and a receive, so their ratio bounds the rates' ratio from above."""
    engine = make_engine(url)
    counted: Counter[str] = Counter()

    def count(what: str) -> Callable[..., None]:
        return lambda *_: counted.update([what])

    event.listen(engine, "before_cursor_execute", count("statements"))
    event.listen(engine, "begin", count("transactions"))
    event.listen(engine.pool, "checkout", count("checkouts"))
    try:
        sessions, kb = make_session_factory(engine), default_knowledge_base()
        figures = []
        for work, label in (
            (lambda deadline: booking_client(sessions, kb, world, CLIENTS + 1, CLIENTS, deadline), "booking"),
            (lambda deadline: insert_client(sessions, world, 10_000_000, 1, deadline), "raw insert"),
        ):
            counted.clear()
            attempts = sum(work(time.perf_counter() + 1.0).values())
            trips = counted["statements"] + 2 * counted["transactions"] + counted["checkouts"]
            figures.append(
                f"{trips / attempts:.1f} per {label} ({counted['statements'] / attempts:.1f} statements, "
                f"{counted['transactions'] / attempts:.1f} transactions, {counted['checkouts'] / attempts:.1f} pings)"
            )
        return figures[0], figures[1]
    finally:
        engine.dispose()


def prepare(url: str) -> World:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        return populate(make_session_factory(engine))
    finally:
        engine.dispose()


def summary(outcomes: Counter[str], elapsed: float, what: str = "booked") -> str:
    attempts = sum(outcomes.values())
    others = ", ".join(f"{k} {v}" for k, v in outcomes.most_common(6) if k != what)
    return (
        f"{outcomes[what] / elapsed:8.1f} {what}/s ({outcomes[what]} of {attempts} attempts in {elapsed:.1f} s, "
        f"{attempts / elapsed:.1f} attempts/s){'; ' + others if others else ''}"
    )


@contextmanager
def scratch_postgres(server: str) -> Iterator[str]:
    """The URL of a new database on `server`, dropped afterwards whatever happened."""
    name = f"safewindow_bench_{uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def postgres(server: str, seconds: float, processes: int) -> None:
    with scratch_postgres(server) as url:
        world = prepare(url)
        threads = CLIENTS // processes
        booked, booking_time = in_processes(url, world, "book", processes, threads, seconds)
        changes, messages, mail_time = write_mail(url)
        raw, raw_time = in_processes(url, world, "insert", processes, threads, seconds)
        skeleton.install(url)
        skeletons = {work: in_processes(url, world, work, processes, threads, seconds) for work in skeleton.EPOCHS}
        trips = round_trips(url, world)
        engine = make_engine(url)
        try:
            overlaps = double_bookings(engine)
        finally:
            engine.dispose()
    booking_rate, raw_rate = booked["booked"] / booking_time, raw["inserted"] / raw_time
    clients = f"{processes * threads} clients ({processes} processes x {threads} threads)"
    print(f"PostgreSQL, {clients}, booking:    {summary(booked, booking_time)}")
    print(f"PostgreSQL, {clients}, raw INSERT: {summary(raw, raw_time, 'inserted')}")
    print(f"PostgreSQL ratio booked/s to raw inserts/s: {booking_rate / raw_rate:.3f} (target: at least 0.5)")
    for work, label in (
        ("unchecked", "the booking's reads and writes, no checks"),
        ("fewest", "those in the fewest round trips (PL/pgSQL)"),
    ):
        done, elapsed = skeletons[work]
        rate = done["inserted"] / elapsed
        print(f"PostgreSQL, {clients}, {label}: {rate:8.1f}/s, ratio to raw inserts/s {rate / raw_rate:.3f}")
    print(
        f"PostgreSQL, one worker writing those bookings' mail: {changes / mail_time:8.1f} changes/s "
        f"({changes} changes, {messages} messages in {mail_time:.1f} s)"
    )
    print(f"PostgreSQL round trips, one client: {trips[0]}; {trips[1]}")
    print(f"PostgreSQL double bookings afterwards: {overlaps} (must be 0)")


def sqlite(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="safewindow-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        world = prepare(url)
        booked, elapsed = in_processes(url, world, "book", PROCESSES, 1, seconds)
        engine = make_engine(url)
        try:
            overlaps = double_bookings(engine)
        finally:
            engine.dispose()
    print(f"SQLite, {PROCESSES} processes, booking:     {summary(booked, elapsed)}")
    print(f"SQLite double bookings afterwards: {overlaps} (must be 0)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement (at most 20)")
    parser.add_argument(
        "--processes", type=int, default=4, choices=[1, 2, 4, 8, 16, 32, 64], help="processes the 64 clients share"
    )
    arguments = parser.parse_args(argv)
    seconds = min(arguments.seconds, 20.0)
    server = os.environ.get("SAFEWINDOW_TEST_POSTGRES_URL") or DEFAULT_SERVER
    postgres(server, seconds, arguments.processes)
    sqlite(seconds)
    shown = make_url(server).render_as_string(hide_password=True)
    print(
        f"{CLINICS} clinics x {PER_CLINIC} physicians and rooms, {PATIENTS:,} patients, {seconds:g} s per "
        f"measurement; python {sys.version.split()[0]}, {os.cpu_count()} CPUs; reproduce: "
        f"SAFEWINDOW_TEST_POSTGRES_URL={shown} .venv/bin/python bench/booking.py --seconds {seconds:g} "
        f"--processes {arguments.processes}"
    )


if __name__ == "__main__":
    main()
