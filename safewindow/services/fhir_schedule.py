"""A practitioner's diary at a clinic as a FHIR Schedule, and its free times as Slots.

A Schedule shares its id, `<practitioner>-<clinic>`, with the PractitionerRole; a slot, which is computed and
never stored, is named by everything that defines it (see `slot_id`). Times are shown on the clinic's clock
with their offset. Built with the R4B models (see fhir_values)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.fhir_people import role_id
from safewindow.services.fhir_values import SLOT_FIT_URL, local_instant, reference, treatment_concept
from safewindow.services.slots import OfferedSlot
from safewindow.store import models


def schedule(
    row: models.Practitioner, clinic: models.Clinic, slugs: Iterable[str], kb: KnowledgeBase, horizon: Period | None
) -> Schedule:
    return Schedule(
        id=role_id(row.id, clinic.id),
        active=row.active,
        actor=[reference("Practitioner", row.id, row.name), reference("Location", clinic.id, clinic.name)],
        serviceType=[treatment_concept(kb, slug) for slug in sorted(slugs)] or None,
        planningHorizon=horizon,
        comment="Free times are the Slots of this Schedule; search them by service-type and start.",
    )


@dataclass(frozen=True, slots=True)
class SlotKey:
    clinic_id: int
    practitioner_id: int
    treatment: str
    start: datetime  # UTC, to the minute


def slot_id(key: SlotKey) -> str:
    """`<clinic>-<practitioner>-<yyyymmddhhmm UTC>-<treatment>`: a slot is computed, so its id names it."""
    return f"{key.clinic_id}-{key.practitioner_id}-{key.start.astimezone(UTC):%Y%m%d%H%M}-{key.treatment}"


def parse_slot_id(text: str) -> SlotKey | None:
    found = re.fullmatch(r"(\d{1,9})-(\d{1,9})-(\d{12})-([a-z0-9][a-z0-9-]{0,40})", text)
    if found is None:
        return None
    try:
        start = datetime.strptime(found[3], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return SlotKey(int(found[1]), int(found[2]), found[4], start)


def slot(offered: OfferedSlot, clinic_id: int, treatment: str, kb: KnowledgeBase, status: str = "free") -> Slot:
    """A free slot; for a patient, an extension says whether it is in the ideal window, and the comment why not."""
    found = offered.slot
    key = SlotKey(clinic_id, int(found.practitioner_id), treatment, found.start)
    return Slot(
        id=slot_id(key),
        schedule=reference("Schedule", role_id(key.practitioner_id, clinic_id), offered.practitioner_name),
        status=status,
        start=local_instant(found.start, offered.zone),
        end=local_instant(found.end, offered.zone),
        serviceType=[treatment_concept(kb, treatment)],
        extension=[Extension(url=SLOT_FIT_URL, valueCode=str(found.fit))] if found.fit else None,
        comment=" ".join(w.message for w in found.warnings) or None,
    )


def busy_slot(key: SlotKey, end: datetime, zone: ZoneInfo, kb: KnowledgeBase) -> Slot:
    """A slot read by id that is no longer offered."""
    return Slot(
        id=slot_id(key),
        schedule=reference("Schedule", role_id(key.practitioner_id, key.clinic_id)),
        status="busy",
        start=local_instant(key.start, zone),
        end=local_instant(end, zone),
        serviceType=[treatment_concept(kb, key.treatment)],
    )
