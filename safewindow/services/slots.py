"""Find bookable slots for a treatment at a clinic, optionally only those safe for one patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.advice import advise
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.slots import Patient, Slot, SlotRequest, find_slots
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.clinic_view import days_window, get_clinic, load_clinic, load_patient
from safewindow.services.errors import InputError
from safewindow.store.unit_of_work import UnitOfWork

FIRST_LOOK_DAYS = 7


@dataclass(frozen=True)
class OfferedSlot:
    slot: Slot
    zone: ZoneInfo
    practitioner_name: str

    def as_dict(self) -> dict[str, Any]:
        slot = self.slot
        return {
            "start": slot.start.astimezone(self.zone).isoformat(),
            "end": slot.end.astimezone(self.zone).isoformat(),
            "practitioner": int(slot.practitioner_id),
            "practitioner_name": self.practitioner_name,
            "room": int(slot.room_id) if slot.room_id else None,
            "device": int(slot.device_id) if slot.device_id else None,
            "fit": str(slot.fit) if slot.fit else None,
            "warnings": [w.as_dict() for w in slot.warnings],
        }


def find_slots_for(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    treatment: str,
    clinic_id: int,
    patient_id: int | None = None,
    practitioner_id: int | None = None,
    first_day: date | None = None,
    days: int = 30,
    limit: int = 10,
    now: datetime | None = None,
    first_look: int = FIRST_LOOK_DAYS,
) -> list[OfferedSlot]:
    """Up to `limit` slots over `days` from `first_day` (today at the earliest), earliest first. Reading a busy
    clinic's diary costs far more than searching it, and most searches are answered within a week of the first
    day the patient's rules allow: that week (`first_look` days) is read and searched first, and the whole span
    only if it holds fewer than `limit`. The answer is the same: a day's slots depend on that day's diary only."""
    now = now or now_utc()
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        zone = clinic_zone(get_clinic(session, clinic_id).time_zone)
        kb = knowledge_for_clinic(session, clinic_id, kb)
        today = clinic_day(now, zone)
        first = max(first_day or today, today)
        last = first + timedelta(days=days - 1)
        patient = load_patient(session, patient_id) if patient_id is not None else None
        opens = first
        if patient is not None and treatment in kb.treatments:  # an unknown one is refused below, by name
            advice = advise(kb, treatment, patient.history, patient.factors, today=today, on=first, area=patient.area)
            if advice.earliest_bookable is not None:
                # No slot before it, so its diary need not be read (the last day at most: the treatment and the
                # practitioner are still checked).
                opens = min(max(first, advice.earliest_bookable), last)
        for until in sorted({min(opens + timedelta(days=first_look - 1), last), last}):
            found = _search(session, kb, treatment, clinic_id, zone, patient, practitioner_id, opens, until, limit, now)
            if len(found) >= limit:
                break
        return found


def _search(
    session: Session,
    kb: KnowledgeBase,
    treatment: str,
    clinic_id: int,
    zone: ZoneInfo,
    patient: Patient | None,
    practitioner_id: int | None,
    first: date,
    last: date,
    limit: int,
    now: datetime,
) -> list[OfferedSlot]:
    view = load_clinic(session, clinic_id, days_window(first, last, zone))
    offered = view.treatment(treatment, kb)
    named = view.practitioner(str(practitioner_id)) if practitioner_id is not None else None
    if named is not None and named.needs_order_for(offered):
        if patient is None:
            raise InputError(
                "practitioner", f"{named.name} gives {treatment} only on a prescriber's order for the patient: name one"
            )
        if offered.slug not in patient.orders:
            raise InputError(
                "practitioner",
                f"{named.name} gives {treatment} only on an authorized prescriber's order, and the patient has none",
            )
    elif named is not None and not named.qualified_for(offered):
        raise InputError("practitioner", f"{named.name} is not qualified for {treatment}")
    request = SlotRequest(
        clinic=view.clinic,
        treatment=offered,
        practitioners=view.practitioners,
        now=now,
        policy=view.policy,
        limit=limit,
        practitioner_id=str(practitioner_id) if practitioner_id is not None else None,
        patient=patient,
        knowledge=kb if patient is not None else None,
        first_day=first,
        last_day=last,
    )
    names = {p.id: p.name for p in view.practitioners}
    return [OfferedSlot(slot, zone, names[slot.practitioner_id]) for slot in find_slots(request)]
