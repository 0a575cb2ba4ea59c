"""Visits for tests, booked through the service at the clinic's first free time, so every check of booking
applies to them; `begun_visit` books one as it would have been days ago (the service takes `now`), for tests
of what happens once a visit has begun."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book
from safewindow.services.slots import find_slots_for
from safewindow.store import models


def first_free_visit(
    sessions: sessionmaker[Session],
    patient: int,
    *,
    clinic_id: int = 1,
    treatment: str = "chemical-peel-light",
    now: datetime | None = None,
) -> models.Visit:
    """The patient's visit at the clinic's first free time after `now`, booked then."""
    kb = default_knowledge_base()
    (found,) = find_slots_for(sessions, kb, treatment=treatment, clinic_id=clinic_id, limit=1, now=now)
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment=treatment,
        clinic_id=clinic_id,
        start=found.slot.start,
        practitioner_id=int(found.slot.practitioner_id),
        actor="test",
        now=now,
    ).visit


def begun_visit(sessions: sessionmaker[Session], patient: int, clinic_id: int = 1, treatment: str = "botox") -> int:
    """The patient's visit at the first free time of a day in the last two weeks: it has begun by now."""
    for back in range(2, 15):
        then = now_utc() - timedelta(days=back)
        (found,) = find_slots_for(
            sessions, default_knowledge_base(), treatment=treatment, clinic_id=clinic_id, limit=1, now=then
        )
        if found.slot.start < now_utc():
            return first_free_visit(sessions, patient, clinic_id=clinic_id, treatment=treatment, now=then).id
    raise AssertionError("no open day in the last two weeks")
