"""Treatment plans: propose a template's visits for a patient at a clinic, and book them all at once.

`propose_plan` loads the patient and the clinic, asks the rule-aware slot finder for each step's candidate slots
(so each already suits the patient's history, factors and diary) and lets the planner place every visit in one
model. `book_plan` books each visit through `services.booking.book`, unchanged, inside ONE database transaction:
every `book` commits only a savepoint of the outer transaction (`one_transaction`), so a refusal of any visit
rolls back the whole plan and nothing of it is ever visible half-booked."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_requests import PlannedVisit, PlanRequest, PlanResult, PlanStatus, Preferences
from safewindow.domain.plan_templates import PlanTemplate
from safewindow.domain.slots import Slot, SlotRequest, find_slots
from safewindow.knowledge.plan_loader import PlanCatalogue
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.booking import Booked, Problem, Refused, book
from safewindow.services.clinic_view import days_window, get_clinic, load_clinic, load_patient
from safewindow.services.errors import InputError
from safewindow.store import models
from safewindow.store.database import IMMEDIATE, SQLITE_BEGIN
from safewindow.store.plan_models import Plan, PlanVisit
from safewindow.store.unit_of_work import UnitOfWork

ALL_SLOTS = 1_000_000  # the planner thins them to a few per day; the finder's cost follows the days looked at


@contextmanager
def one_transaction(session_factory: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """A session factory whose every unit of work runs inside one outer transaction, committed when the block
    ends and rolled back when it raises: each use case's own commit only releases a savepoint (SQLAlchemy's
    "join a session into an external transaction"), so booking and moving code is reused as it is. On SQLite
    the outer transaction begins IMMEDIATE, holding the write lock throughout, like every booking."""
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("one_transaction needs a session factory bound to an engine")
    with bind.connect() as connection:
        connection.execution_options(**{SQLITE_BEGIN: IMMEDIATE})
        with connection.begin():
            yield sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


def find_template(plans: PlanCatalogue, slug: str, field: str = "template") -> PlanTemplate:
    try:
        return plans.template(slug)
    except KeyError:
        close = difflib.get_close_matches(slug, list(plans.templates), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(sorted(plans.templates))})"
        raise InputError(field, f"unknown plan template {slug!r}{hint}") from None


@dataclass(frozen=True)
class ProposedPlan:
    result: PlanResult
    template: PlanTemplate
    patient_id: int
    clinic_id: int
    event: date | None
    zone: ZoneInfo
    names: Mapping[str, str]  # practitioner id -> name

    def visit_row(self, visit: PlannedVisit) -> dict[str, Any]:
        slot = visit.slot
        return {
            "treatment": visit.treatment,
            "step": visit.step + 1,
            "session": visit.session,
            "start": slot.start.astimezone(self.zone).isoformat(),
            "end": slot.end.astimezone(self.zone).isoformat(),
            "practitioner": int(slot.practitioner_id),
            "practitioner_name": self.names.get(slot.practitioner_id, ""),
            "room": int(slot.room_id) if slot.room_id else None,
            "fit": str(visit.fit),
            "notes": list(visit.notes),
        }

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        recall = self.template.recall
        return {
            "template": self.template.slug,
            "patient": self.patient_id,
            "clinic": self.clinic_id,
            "event": self.event.isoformat() if self.event else None,
            "status": str(result.status),
            "visits": [self.visit_row(v) for v in result.visits],
            "skipped": [self.template.steps[i].treatment for i in result.skipped_steps],
            "recall": (
                {
                    "treatment": recall.treatment,
                    "due_start": result.recall[0].isoformat(),
                    "due_end": result.recall[1].isoformat(),
                }
                if recall is not None and result.recall is not None
                else None
            ),
            "conflicts": [c.as_dict() for c in result.conflicts],
            "explanation": result.explanation,
        }


def propose_plan(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    plans: PlanCatalogue,
    *,
    template: str,
    patient_id: int,
    clinic_id: int,
    start: date | None = None,
    event: date | None = None,
    preferences: Preferences | None = None,
    now: datetime | None = None,
) -> ProposedPlan:
    now = now or now_utc()
    chosen = find_template(plans, template)
    if chosen.needs_event and event is None:
        raise InputError("event", f"the {chosen.slug} plan needs the event's date")
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        row = get_clinic(session, clinic_id)
        kb = knowledge_for_clinic(session, clinic_id, kb)  # the clinic's rules, as its bookings will check them
        zone = clinic_zone(row.time_zone)
        today = clinic_day(now, zone)
        first = max(start or today, today)
        last = today + timedelta(days=row.policy.horizon_days if row.policy else 90)
        if first > last:
            raise InputError("start", f"{first} is past the clinic's booking horizon ({last})")
        if event is not None:
            if event <= first:
                raise InputError("event", f"{event} is not after the first day planned ({first})")
            last = min(last, event - timedelta(days=1))
        view = load_clinic(session, clinic_id, days_window(first, last, zone))
        patient = load_patient(session, patient_id)
        found: dict[str, list[Slot]] = {}
        for step in chosen.steps:
            if step.treatment not in found:
                request = SlotRequest(
                    clinic=view.clinic,
                    treatment=view.treatment(step.treatment, kb),
                    practitioners=view.practitioners,
                    now=now,
                    policy=view.policy,
                    limit=ALL_SLOTS,
                    patient=patient,
                    knowledge=kb,
                    first_day=first,
                    last_day=last,
                )
                found[step.treatment] = find_slots(request)
        names = {p.id: p.name for p in view.practitioners}
    request_plan = PlanRequest(
        chosen,
        kb,
        today,
        zone,
        history=patient.history,
        factors=patient.factors,
        area=patient.area,
        event=event,
        first_day=first,
        last_day=last,
        preferences=preferences or Preferences(),
        treatments=view.offered,
    )
    from safewindow.domain.planning import plan  # OR-Tools takes a third of a second to import: only when planning

    result = plan(request_plan, [found[step.treatment] for step in chosen.steps])
    return ProposedPlan(result, chosen, patient_id, clinic_id, event, zone, names)


@dataclass(frozen=True)
class BookedPlan:
    plan_id: int
    proposal: ProposedPlan
    booked: tuple[Booked, ...]  # in the order of the proposal's visits

    def as_dict(self) -> dict[str, Any]:
        result = self.proposal.as_dict()
        result["plan_id"] = self.plan_id
        for row, booked in zip(result["visits"], self.booked, strict=True):
            row["id"] = booked.visit.id
        return result


def book_plan(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    proposal: ProposedPlan,
    *,
    actor: str,
    now: datetime | None = None,
) -> BookedPlan:
    """Book every visit of `proposal`, or none: a refusal (someone took a slot since it was proposed) rolls the
    whole plan back and says which visit was refused and why."""
    result = proposal.result
    if result.status is PlanStatus.INFEASIBLE:
        raise Refused(
            [Problem("plan-infeasible", result.explanation)] + [Problem(c.rule, c.message) for c in result.conflicts]
        )
    now = now or now_utc()
    booked: list[Booked] = []
    with one_transaction(session_factory) as joined:
        for visit in result.visits:
            try:
                booked.append(
                    book(
                        joined,
                        kb,
                        patient_id=proposal.patient_id,
                        treatment=visit.treatment,
                        clinic_id=proposal.clinic_id,
                        start=visit.slot.start,
                        actor=actor,
                        practitioner_id=int(visit.slot.practitioner_id),
                        now=now,
                    )
                )
            except Refused as refused:
                when = visit.slot.start.astimezone(proposal.zone).isoformat()
                lead = Problem("plan-visit-refused", f"{visit.treatment} at {when} was refused; nothing was booked.")
                raise Refused([lead, *refused.problems]) from None
        with UnitOfWork(joined, write=True) as uow:
            row = Plan(
                patient_id=proposal.patient_id,
                template=proposal.template.slug,
                event_date=proposal.event,
                created_by=actor,
            )
            row.visits = [
                PlanVisit(visit_id=b.visit.id, step=v.step, session=v.session)
                for v, b in zip(result.visits, booked, strict=True)
            ]
            uow.session.add(row)
            uow.session.flush()
            # Ids only: the audit log is read by staff tools, and which treatments stays in the chart (PIPA).
            uow.session.add(
                models.AuditEntry(
                    actor=actor,
                    action="plan.booked",
                    entity="plan",
                    entity_id=str(row.id),
                    detail={"patient_id": proposal.patient_id, "visit_ids": [b.visit.id for b in booked]},
                )
            )
            uow.commit()
            plan_id = row.id
    return BookedPlan(plan_id, proposal, tuple(booked))
