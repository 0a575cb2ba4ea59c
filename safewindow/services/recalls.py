"""Recalls: which patients of a clinic are due, overdue or soon due a treatment again, from what actually
happened (completed visits), with the first rule-aware slot for each.

A recall (plans.yaml) is the ideal window of the catalogue's repeat rule after the last full treatment: Botox
90-120 days after the last completed Botox. A touch-up is another treatment, so it does not restart the count;
a booked later visit of the treatment means the recall is already answered; a personal factor that rules the
treatment out (pregnancy) removes it, by the advisor's own word."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.advice import advise
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_templates import Recall
from safewindow.services.clinic_view import get_clinic, load_patient
from safewindow.services.notifications import SenderSettings, recall_due
from safewindow.services.slots import OfferedSlot, find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

SOON_DAYS = 30  # a recall due within this many days is listed as upcoming
SLOT_SEARCH_DAYS = 60


class RecallStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class RecallItem:
    patient_id: int
    patient_name: str
    treatment: str
    last_visit: date
    due_start: date
    due_end: date
    status: RecallStatus
    first_slot: OfferedSlot | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "patient": self.patient_id,
            "patient_name": self.patient_name,
            "treatment": self.treatment,
            "last_visit": self.last_visit.isoformat(),
            "due_start": self.due_start.isoformat(),
            "due_end": self.due_end.isoformat(),
            "status": str(self.status),
            "first_slot": self.first_slot.as_dict() if self.first_slot else None,
        }


@dataclass(frozen=True)
class _Candidate:
    recall: Recall
    patient: models.Patient
    last: date


def _status(on: date, due_start: date, due_end: date, soon_days: int) -> RecallStatus | None:
    if on > due_end:
        return RecallStatus.OVERDUE
    if on >= due_start:
        return RecallStatus.DUE
    return RecallStatus.UPCOMING if (due_start - on).days <= soon_days else None


def _candidates(
    session: Session, kb: KnowledgeBase, recalls: Sequence[Recall], clinic_id: int, today: date
) -> list[_Candidate]:
    """Per recall and patient, the last completed visit of the treatment, if it was at this clinic and nothing
    since answers or rules out the recall."""
    found = []
    for recall in recalls:
        rows = session.execute(
            select(models.Visit, models.Clinic.time_zone)
            .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
            .where(
                models.Visit.treatment_slug == recall.treatment,
                models.Visit.status.in_(models.ACTIVE_STATUSES),
            )
            .order_by(models.Visit.patient_id, models.Visit.start_at)
        )
        last_done: dict[int, models.Visit] = {}
        booked_after: set[int] = set()
        zones: dict[int, str] = {}
        for visit, zone in rows:
            zones[visit.id] = zone
            if visit.status is models.VisitStatus.COMPLETED:
                last_done[visit.patient_id] = visit
                booked_after.discard(visit.patient_id)
            elif visit.patient_id in last_done:
                booked_after.add(visit.patient_id)  # booked after the last completed one: already recalled
        for patient_id, visit in last_done.items():
            if visit.clinic_id != clinic_id or patient_id in booked_after:
                continue
            person = load_patient(session, patient_id)
            patient = session.get_one(models.Patient, patient_id)
            advice = advise(kb, recall.treatment, person.history, person.factors, today=today)
            if not advice.allowed:
                continue  # a factor (pregnancy) or a limit rules the treatment out for now
            found.append(_Candidate(recall, patient, clinic_day(visit.start_at, clinic_zone(zones[visit.id]))))
    return found


def recalls_for(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    recalls: Sequence[Recall],
    *,
    clinic_id: int,
    on: date | None = None,
    soon_days: int = SOON_DAYS,
    now: datetime | None = None,
) -> list[RecallItem]:
    """Every recall of the clinic's patients that is overdue, due on `on` (default: today), or due within
    `soon_days`; overdue first, then by due date."""
    now = now or now_utc()
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        zone = clinic_zone(get_clinic(session, clinic_id).time_zone)
        today = clinic_day(now, zone)
        on = on or today
        listed = []
        for candidate in _candidates(session, kb, recalls, clinic_id, today):
            due_start, due_end = candidate.recall.due(candidate.last)
            status = _status(on, due_start, due_end, soon_days)
            if status is not None:
                listed.append((candidate, due_start, due_end, status))
    items = []
    for candidate, due_start, due_end, status in listed:
        first = max(due_start, today, on)
        slots = find_slots_for(
            session_factory,
            kb,
            treatment=candidate.recall.treatment,
            clinic_id=clinic_id,
            patient_id=candidate.patient.id,
            first_day=first,
            days=SLOT_SEARCH_DAYS,
            limit=1,
            now=now,
        )
        items.append(
            RecallItem(
                candidate.patient.id,
                candidate.patient.name,
                candidate.recall.treatment,
                candidate.last,
                due_start,
                due_end,
                status,
                slots[0] if slots else None,
            )
        )
    order = {RecallStatus.OVERDUE: 0, RecallStatus.DUE: 1, RecallStatus.UPCOMING: 2}
    return sorted(items, key=lambda i: (order[i.status], i.due_start, i.patient_id))


def enqueue_due_recalls(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    recalls: Sequence[Recall],
    *,
    now: datetime | None = None,
) -> int:
    """Writes a 'time for your next treatment' message for every recall due or overdue today at each clinic.
    The worker calls this every round: `recall_due` keeps one message per patient, treatment and due day, so
    asking again writes nothing new. Returns how many recalls were due."""
    now = now or now_utc()
    sender = SenderSettings()  # read once: every recall's stop link is built on its public address
    due = 0
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        for clinic in session.scalars(select(models.Clinic).order_by(models.Clinic.id)):
            today = clinic_day(now, clinic_zone(clinic.time_zone))
            for candidate in _candidates(session, kb, recalls, clinic.id, today):
                due_start, due_end = candidate.recall.due(candidate.last)
                if _status(today, due_start, due_end, 0) in (RecallStatus.DUE, RecallStatus.OVERDUE):
                    due += 1
                    recall_due(
                        session,
                        patient_id=candidate.patient.id,
                        clinic_id=clinic.id,
                        treatment_slug=candidate.recall.treatment,
                        due_on=due_start,
                        now=now,
                        kb=kb,
                        sender=sender,
                    )
        uow.commit()
    return due
