"""Milliseconds for the slot service (`services.slots.find_slots_for`: the diary read from the store, then the
search) to give the first 10 botox slots at one busy clinic, for 7, 30 and 90 days, reading the first week
first (as it does) next to reading the whole span at once (`first_look` = the span). The clinic's four
practitioners are booked every half hour for the next 45 days, about 2,000 visits, with the odd free time.

The store is a temporary SQLite file, or with SAFEWINDOW_TEST_POSTGRES_URL a scratch PostgreSQL database on
that server, dropped at the end. Reproduce: .venv/bin/python bench/slot_service.py (optionally with
SAFEWINDOW_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test)"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from booking import (  # the booking bench's world, beside this file
    NOW,
    TUE_TO_SAT,
    ZONE,
    World,
    prepare,
    scratch_postgres,
)
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.unit_of_work import UnitOfWork

DAYS = 45
ROUNDS = 25


@contextmanager
def store() -> Iterator[str]:
    server = os.environ.get("SAFEWINDOW_TEST_POSTGRES_URL")
    if server:
        with scratch_postgres(server) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="safewindow-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


def fill(sessions: sessionmaker[Session], world: World, clinic: int) -> int:
    """Every practitioner of `clinic` booked every half hour 09:00-17:00 on its open days, but for the last
    half hour every third day: the free time a search has to find."""
    with UnitOfWork(sessions) as uow:
        staff = sorted(
            set(
                uow.session.scalars(
                    select(models.PractitionerHours.practitioner_id).where(models.PractitionerHours.clinic_id == clinic)
                )
            )
        )
        rooms = sorted(uow.session.scalars(select(models.Room.id).where(models.Room.clinic_id == clinic)))
    rows = []
    first = NOW.astimezone(ZONE).date()
    for n in range(1, DAYS + 1):
        day = first + timedelta(days=n)
        if day.weekday() not in TUE_TO_SAT:
            continue
        for practitioner, room in zip(staff, rooms, strict=False):
            for half in range(16 if n % 3 else 15):
                start = datetime.combine(day, clock(9 + half // 2, 30 * (half % 2)), ZONE).astimezone(UTC)
                patient = world.patients[len(rows) % len(world.patients)]
                rows.append(
                    {
                        "patient_id": patient,
                        "clinic_id": clinic,
                        "treatment_slug": "botox",
                        "practitioner_id": practitioner,
                        "room_id": room,
                        "start_at": start,
                        "end_at": start + timedelta(minutes=30),
                        # back to back, as a packed diary: held without buffers, which would not fit
                        "held_from": start,
                        "held_until": start + timedelta(minutes=30),
                        "status": models.VisitStatus.BOOKED,
                        "created_by": "bench",
                    }
                )
    with UnitOfWork(sessions, write=True) as uow:
        uow.session.execute(insert(models.Visit), rows)
        uow.commit()
    return len(rows)


def median_ms(sessions: sessionmaker[Session], clinic: int, days: int, first_look: int) -> float:
    kb, samples = default_knowledge_base(), []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        found = find_slots_for(
            sessions, kb, treatment="botox", clinic_id=clinic, days=days, limit=10, now=NOW, first_look=first_look
        )
        samples.append((time.perf_counter() - began) * 1000)
        assert len(found) == 10
    return statistics.median(samples)


def main() -> None:
    with store() as url:
        world = prepare(url)
        engine = make_engine(url)
        try:
            sessions, clinic = make_session_factory(engine), world.clinics[0]
            visits = fill(sessions, world, clinic)
            print(f"{make_url(url).get_backend_name()}, one clinic with {visits:,} booked visits over {DAYS} days:")
            for days in (7, 30, 90):
                stepped, whole = median_ms(sessions, clinic, days, 7), median_ms(sessions, clinic, days, days)
                print(
                    f"  first 10 botox slots over {days:2} days: {stepped:5.1f} ms reading the first week first, "
                    f"{whole:5.1f} ms reading all {days} days at once (median of {ROUNDS})"
                )
        finally:
            engine.dispose()
    print(f"python {sys.version.split()[0]}; reproduce: .venv/bin/python bench/slot_service.py")


if __name__ == "__main__":
    main()
