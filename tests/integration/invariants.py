"""What must hold in the store whatever ran before it, read back from the database itself: no practitioner,
room, device or patient holds two active visits at once, and no patient's visits break a timing rule that a
qualified practitioner did not override. The concurrency and stateful booking tests call `assert_invariants`
after their runs and steps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.domain.advice import Severity, advise
from safewindow.domain.history import PastVisit, clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import Kind
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

RESOURCES = ("practitioner_id", "room_id", "device_id", "patient_id")
ACTIVE = tuple(models.ACTIVE_STATUSES)


def _held(visit: models.Visit, column: str) -> tuple[datetime, datetime]:
    """What the visit holds of the resource: the patient during the visit, the others for its buffers too."""
    return (visit.start_at, visit.end_at) if column == "patient_id" else (visit.held_from, visit.held_until)


def overlapping_visits(session: Session) -> list[str]:
    """Every pair of active visits that hold one practitioner, room, device (buffers included) or patient at
    the same time (half-open intervals, as the database's constraints: one may begin when another ends), and
    every visit whose held stretch does not contain it."""
    visits = list(session.scalars(select(models.Visit).where(models.Visit.status.in_(ACTIVE))))
    problems = [
        f"visit {v.id} holds {v.held_from:%H:%M}-{v.held_until:%H:%M}, not all of {v.start_at:%H:%M}-{v.end_at:%H:%M}"
        for v in visits
        if not (v.held_from <= v.start_at and v.end_at <= v.held_until)
    ]
    for column in RESOURCES:
        held: defaultdict[int, list[models.Visit]] = defaultdict(list)
        for visit in visits:
            if getattr(visit, column) is not None:
                held[getattr(visit, column)].append(visit)
        for resource, diary in held.items():
            for visit in diary:
                since, until = _held(visit, column)
                problems += [
                    f"{column} {resource}: visit {other.id} (holds {_held(other, column)[0]:%Y-%m-%d %H:%M}-"
                    f"{_held(other, column)[1]:%H:%M} UTC) overlaps visit {visit.id} (holds {since:%Y-%m-%d %H:%M}-"
                    f"{until:%H:%M} UTC)"
                    for other in diary
                    if other.id < visit.id and _held(other, column)[0] < until and since < _held(other, column)[1]
                ]
    return problems


def _valid_overrides(session: Session) -> dict[int, set[str]]:
    """Visit id -> rules overridden by a practitioner holding the permission the clinic asks for that treatment.
    An override by anyone else excuses nothing."""
    permissions: defaultdict[int, set[str]] = defaultdict(set)
    granted = select(models.practitioner_qualifications.c.practitioner_id, models.Grant.permission_id).join(
        models.Grant, models.Grant.qualification_id == models.practitioner_qualifications.c.qualification_id
    )
    for practitioner_id, permission_id in session.execute(granted):
        permissions[practitioner_id].add(permission_id)
    needs = {
        (t.clinic_id, t.treatment_slug): t.required_permission_id
        for t in session.scalars(select(models.ClinicTreatment))
    }
    valid: defaultdict[int, set[str]] = defaultdict(set)
    for override, visit in session.execute(
        select(models.Override, models.Visit).join(models.Visit, models.Visit.id == models.Override.visit_id)
    ):
        need = needs.get((visit.clinic_id, visit.treatment_slug))
        if need is None or need in permissions[override.practitioner_id]:
            valid[visit.id].add(override.rule_id)
    return valid


def timing_breaches(session: Session, kb: KnowledgeBase, today: date) -> list[str]:
    """Each active visit, advised against every other active visit and prior treatment of its patient (each on
    its clinic-zone day) with the patient's active factors: every block must be soft and overridden, on this
    visit or on the other visit of the pair (overriding the pair's rule there)."""
    visits: defaultdict[int, list[tuple[models.Visit, PastVisit]]] = defaultdict(list)
    for visit, zone in session.execute(
        select(models.Visit, models.Clinic.time_zone)
        .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
        .where(models.Visit.status.in_(ACTIVE))
        .order_by(models.Visit.id)
    ):
        day = clinic_day(visit.start_at, clinic_zone(zone))
        visits[visit.patient_id].append((visit, PastVisit(visit.treatment_slug, day, visit.area)))
    prior: defaultdict[int, list[PastVisit]] = defaultdict(list)
    for row in session.scalars(select(models.PriorTreatment)):
        prior[row.patient_id].append(PastVisit(row.treatment_slug, row.day, row.area))
    factors: defaultdict[int, list[str]] = defaultdict(list)
    for factor in session.scalars(select(models.PatientFactor).where(models.PatientFactor.active.is_(True))):
        factors[factor.patient_id].append(factor.factor_id)
    overridden = _valid_overrides(session)

    def blocks(visit: models.Visit, past: PastVisit, others: Sequence[PastVisit]) -> dict[str, tuple[Kind, str]]:
        advice = advise(
            kb, visit.treatment_slug, others, factors[visit.patient_id], today=today, on=past.day, area=past.area
        )
        return {r.rule: (r.kind, r.message) for r in advice.reasons if r.severity is Severity.BLOCK}

    problems = []
    for patient_id, diary in visits.items():
        for visit, past in diary:
            others = [(v, p) for v, p in diary if v.id != visit.id]
            history = [p for _, p in others] + prior[patient_id]
            for rule, (kind, message) in blocks(visit, past, history).items():
                if kind is Kind.SOFT and rule in overridden[visit.id]:
                    continue
                carriers = {v.id for v, _ in others if rule in overridden[v.id]}
                if kind is Kind.SOFT and carriers:
                    rest = [p for v, p in others if v.id not in carriers] + prior[patient_id]
                    if rule not in blocks(visit, past, rest):
                        continue
                problems.append(
                    f"patient {patient_id}: visit {visit.id} ({visit.treatment_slug} on {past.day}, {visit.status}) "
                    f"breaks {kind} rule {rule}: {message}"
                )
    return problems


def assert_invariants(session_factory: sessionmaker[Session], kb: KnowledgeBase, today: date) -> None:
    with UnitOfWork(session_factory) as uow:
        overlaps = overlapping_visits(uow.session)
        breaches = timing_breaches(uow.session, kb, today)
    assert not overlaps, "double bookings:\n" + "\n".join(overlaps)
    assert not breaches, "timing rules broken:\n" + "\n".join(breaches)
