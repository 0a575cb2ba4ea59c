"""Find bookable slots for a treatment at a clinic, optionally only those safe for one patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.history import clinic_day
from safewindow.domain.intervals import Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.slots import Slot, SlotRequest, find_slots
from safewindow.domain.weekly_hours import ClinicDay
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.clinic_view import get_clinic, load_clinic, load_patient
from safewindow.services.errors import InputError
from safewindow.store.unit_of_work import UnitOfWork


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
) -> list[OfferedSlot]:
    now = now or now_utc()
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        zone = clinic_zone(get_clinic(session, clinic_id).time_zone)
        kb = knowledge_for_clinic(session, clinic_id, kb)
        first = max(first_day or clinic_day(now, zone), clinic_day(now, zone))
        last = first + timedelta(days=days - 1)
        # Busy times for the days looked at, a day either side for buffers.
        window = Interval(
            ClinicDay(first - timedelta(days=1), zone).start, ClinicDay(last + timedelta(days=2), zone).start
        )
        view = load_clinic(session, clinic_id, window)
        offered = view.treatment(treatment, kb)
        if practitioner_id is not None and not view.practitioner(str(practitioner_id)).qualified_for(offered):
            name = view.practitioner(str(practitioner_id)).name
            raise InputError("practitioner", f"{name} is not qualified for {treatment}")
        patient = load_patient(session, patient_id)[1] if patient_id is not None else None
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
