"""What the database refused: which resource an overlapping visit collided over.

Both databases refuse with an IntegrityError naming the same constraint: PostgreSQL's exclusion constraints
and SQLite's triggers carry these names (see migration 0001)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

OVERLAP_CONSTRAINTS = {
    "ex_visits_practitioner_overlap": "practitioner",
    "ex_visits_room_overlap": "room",
    "ex_visits_device_overlap": "device",
    "ex_visits_patient_overlap": "patient",
}


def overlapping_resource(error: IntegrityError) -> str | None:
    """`practitioner`, `room`, `device` or `patient` when `error` is an overlap refusal, else None."""
    message = str(error.orig)
    return next((resource for name, resource in OVERLAP_CONSTRAINTS.items() if name in message), None)
