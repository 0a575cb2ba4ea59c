"""Book, move and cancel visits: one use case, one transaction, every channel.

A change is refused, with every reason, when the time is not free (clinic, practitioner, room, device,
patient, buffers, notice, horizon) or when the advisor blocks it given the patient's whole history,
including visits booked later. A soft block may be overridden only by a practitioner qualified for the
treatment, with a written reason; a hard block never. Each transaction first locks the patient's row, so two
changes for one patient cannot each miss the other's visit; the database's overlap constraints settle races
between patients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.advice import Reason, Severity, advise
from safewindow.domain.availability import (
    Equipment,
    OfferedTreatment,
    Practitioner,
    changes_close_in_words,
    free_equipment,
)
from safewindow.domain.booking_check import Refusal, check_booking
from safewindow.domain.booking_check import Refused as Code
from safewindow.domain.history import clinic_day
from safewindow.domain.intervals import Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import Kind
from safewindow.domain.slots import Patient
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.clinic_setup import clinic_setup, permissions_of
from safewindow.services.clinic_view import ClinicView, diary_of, load_patient, lock_and_load
from safewindow.services.errors import InputError, NotFound
from safewindow.services.local_time import short_local
from safewindow.services.notifications import record_visit_change
from safewindow.store import models
from safewindow.store.conflicts import overlapping_resource
from safewindow.store.unit_of_work import UnitOfWork

T = TypeVar("T")
AROUND = timedelta(days=1)  # busy times are read this far either side of a visit: wider than any buffer


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a change is refused: an availability code or a timing rule's id."""

    code: str
    message: str
    kind: str | None = None  # hard | soft, for timing rules
    evidence: str | None = None
    source: str | None = None

    @classmethod
    def of_reason(cls, reason: Reason) -> Problem:
        return cls(reason.rule, reason.message, str(reason.kind), reason.evidence, reason.source)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "message": self.message,
            "kind": self.kind,
            "evidence": self.evidence,
            "source": self.source,
        }


class Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass(frozen=True)
class Override:
    reason: str
    by: int  # practitioner id


@dataclass(frozen=True)
class Booked:
    visit: models.Visit
    zone: ZoneInfo
    warnings: tuple[Reason, ...] = ()  # allowed, but outside the ideal window (and why)
    overridden: tuple[str, ...] = ()  # rule ids a practitioner overrode


def _refuse_unless_empty(problems: list[Problem]) -> None:
    if problems:
        raise Refused(problems)


def _pick(
    view: ClinicView,
    offered: OfferedTreatment,
    start: datetime,
    practitioner_id: int | None,
    patient: Patient,
    now: datetime,
) -> tuple[Practitioner, Equipment, list[Problem]]:
    """The named practitioner, or the first one free then (by id); with the room and device the visit takes.
    Those who give the treatment only on a prescriber's order are candidates too: the check says whether the
    patient's order covers the day. When nobody is free, the reasons are those of whoever came nearest (fewest
    reasons; the first by id on a tie): they explain the time, where the first practitioner's might only say
    that they do not work then."""
    candidates = (
        [view.practitioner(str(practitioner_id))]
        if practitioner_id is not None
        else [p for p in view.practitioners if p.qualified_for(offered) or p.needs_order_for(offered)]
    )
    if not candidates:
        raise Refused([Problem("no-qualified-practitioner", f"Nobody at {view.name} may do {offered.slug}.")])
    nearest: list[Problem] | None = None
    for practitioner in candidates:
        equipment = free_equipment(view.clinic, offered, start)
        refusals = check_booking(
            view.clinic,
            offered,
            practitioner,
            start,
            now=now,
            policy=view.policy,
            room_id=equipment.room.id if equipment and equipment.room else None,
            device_id=equipment.device.id if equipment and equipment.device else None,
            patient_busy=patient.busy,
            order_until=patient.orders.get(offered.slug),
        )
        if equipment is None and (offered.room_kind or offered.device_kind):
            refusals = [*refusals, *_no_equipment(offered, refusals)]
        problems = [Problem(str(r.code), r.message) for r in refusals]
        if not problems and equipment is not None:
            return practitioner, equipment, []
        if nearest is None or len(problems) < len(nearest):
            nearest = problems
    return candidates[0], Equipment(None, None), nearest or []


def _no_equipment(offered: OfferedTreatment, refusals: list[Refusal]) -> list[Refusal]:
    if any(str(r.code).startswith(("room", "device")) for r in refusals):
        return []
    need = " and ".join(
        x
        for x in (
            offered.room_kind and f"a {offered.room_kind} room",
            offered.device_kind and f"a {offered.device_kind} device",
        )
        if x
    )
    return [Refusal(Code.ROOM_BUSY if offered.room_kind else Code.DEVICE_BUSY, f"No {need} is free then.")]


def _override_problems(
    session: Session, view: ClinicView, offered: OfferedTreatment, blocks: list[Reason], override: Override | None
) -> list[Problem]:
    """Timing blocks that stand: all of them without an override; the hard ones, or all when the override
    is not a qualified practitioner's with a written reason."""
    if not blocks:
        return []
    problems = [Problem.of_reason(r) for r in blocks]
    if override is None:
        return problems
    if not override.reason.strip():
        raise InputError("override_reason", "an override needs a written reason")
    hard = [p for p, r in zip(problems, blocks, strict=True) if r.kind is Kind.HARD]
    if hard:
        return [*hard, Problem("hard-rule", "A hard rule has no override.")]
    practitioner = session.get(models.Practitioner, override.by)
    if practitioner is None:
        raise NotFound("by", f"no practitioner {override.by}")
    if offered.qualifications and permissions_of(practitioner).isdisjoint(offered.qualifications):
        return [
            *problems,
            Problem(
                "override-not-qualified",
                f"{practitioner.name} is not qualified for {offered.slug}, so may not override.",
            ),
        ]
    return []


def write_visit(session: Session, write: Callable[[], T]) -> T:
    """Flush the change; the database's overlap constraint is the last word on a race."""
    try:
        result = write()
        session.flush()
    except IntegrityError as error:
        resource = overlapping_resource(error)
        if resource is None:
            raise
        raise Refused([Problem(f"{resource}-busy", f"The {resource} was booked by someone else just now.")]) from None
    return result


def _record_overrides(session: Session, visit: models.Visit, rules: tuple[str, ...], override: Override | None) -> None:
    for rule in rules:
        assert override is not None  # blocks stand refused unless an override was given
        session.add(
            models.Override(
                visit_id=visit.id, rule_id=rule, reason=override.reason.strip(), practitioner_id=override.by
            )
        )


def audit_visit(session: Session, actor: str, action: str, visit: models.Visit, **detail: Any) -> None:
    # Ids and times only: the audit log is read by staff tools, and health data stays in the chart. A plain
    # INSERT into the table, not an object nor the ORM's bulk path: the log is only ever appended to, and a
    # booking pays for every statement it runs.
    entry = {
        "actor": actor,
        "action": action,
        "entity": "visit",
        "entity_id": str(visit.id),
        "detail": {"patient_id": visit.patient_id, "clinic_id": visit.clinic_id, "start": visit.start_at.isoformat()}
        | detail,
    }
    session.execute(insert(cast(Table, models.AuditEntry.__table__)), entry)


def book(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    patient_id: int,
    treatment: str,
    clinic_id: int,
    start: datetime,
    actor: str,
    practitioner_id: int | None = None,
    area: str = "face",
    override: Override | None = None,
    now: datetime | None = None,
) -> Booked:
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        person = load_patient(session, patient_id, lock=True)
        setup, view = lock_and_load(session, clinic_id, Interval(start - AROUND, start + AROUND))
        kb = setup.knowledge(kb)  # the clinic's own rule adjustments, on every channel
        offered = view.treatment(treatment, kb)
        practitioner, equipment, problems = _pick(view, offered, start, practitioner_id, person, now)
        advice = advise(
            kb,
            treatment,
            person.history,
            person.factors,
            today=clinic_day(now, view.zone),
            on=clinic_day(start, view.zone),
            area=area,
        )
        blocks = [r for r in advice.reasons if r.severity is Severity.BLOCK]
        problems += _override_problems(session, view, offered, blocks, override if not problems else None)
        _refuse_unless_empty(problems)

        held_from, held_until = offered.occupies(start)
        values = {
            "patient_id": patient_id,
            "clinic_id": clinic_id,
            "treatment_slug": treatment,
            "practitioner_id": int(practitioner.id),
            "room_id": int(equipment.room.id) if equipment.room else None,
            "device_id": int(equipment.device.id) if equipment.device else None,
            "start_at": start,
            "end_at": start + offered.duration,
            "held_from": held_from,
            "held_until": held_until,
            "area": area,
            "status": models.VisitStatus.BOOKED,
            "created_by": actor,
            "deposit_cents": setup.deposits.get(treatment, 0),
        }
        # An INSERT ... RETURNING that gives back the visit as an object: the unit of work's flush costs more.
        visit = write_visit(
            session, lambda: session.scalars(insert(models.Visit).returning(models.Visit), [values]).one()
        )
        overridden = tuple(r.rule for r in blocks)
        _record_overrides(session, visit, overridden, override)
        audit_visit(session, actor, "visit.booked", visit, overrides=list(overridden))
        record_visit_change(session, visit, "booked", now=now)  # in this transaction: told if and only if booked
        uow.commit()
        warnings = tuple(r for r in advice.reasons if r.severity is Severity.WARN)
        return Booked(visit, view.zone, warnings, overridden)


def dependents(
    kb: KnowledgeBase,
    session: Session,
    changed: models.Visit,
    today: date,
    *,
    was_on: date | None,
    then_on: date | None,
    breaks: str = "would break",
) -> list[Problem]:
    """Every other visit of the patient still to come, checked against the history as it is after the change
    (`changed` on `then_on`, or not in it when None) and as it was (on `was_on`, or not in it). Only what the
    change breaks counts: a block the visit already had (a practitioner overrode it) is not the change's doing.
    `changed` must be among the patient's active visits when either day is given."""
    diary = diary_of(session, changed.patient)
    was_days, then_days = dict(diary.days), dict(diary.days)
    for days, day in ((was_days, was_on), (then_days, then_on)):
        days.pop(changed.id, None)
        if day is not None:
            days[changed.id] = day

    def blocks(visit: models.Visit, days: dict[int, date]) -> dict[str, Reason]:
        others = diary.history(days, {visit.id})
        advice = advise(
            kb, visit.treatment_slug, others, diary.factors, today=today, on=days[visit.id], area=visit.area
        )
        return {r.rule: r for r in advice.reasons if r.severity is Severity.BLOCK}

    problems = []
    for visit in diary.visits:
        day = diary.days[visit.id]
        if visit.id == changed.id or visit.status is not models.VisitStatus.BOOKED or day < today:
            continue
        already = blocks(visit, was_days)
        for rule, reason in blocks(visit, then_days).items():
            if rule not in already:
                problems.append(
                    Problem(
                        "dependent-visit",
                        f"Visit {visit.id} ({visit.treatment_slug} on {day}) {breaks} {rule}: {reason.message}",
                        str(reason.kind),
                        reason.evidence,
                        reason.source,
                    )
                )
    return problems


def _late_change(session: Session, visit: models.Visit, now: datetime, *, by_patient: bool) -> bool:
    """Whether the visit is within its clinic's notice for changes made online. A patient is refused then,
    told to call; the clinic's staff may still change it, and the audit log records that it was late."""
    policy = clinic_setup(session, visit.clinic_id).policy
    if now < policy.online_changes_close(visit.start_at):
        return False
    if by_patient:
        clinic = visit.clinic
        begins = short_local(visit.start_at, clinic.time_zone)
        call = f"call {clinic.name} at {clinic.phone}" if clinic.phone else f"contact {clinic.name}"
        raise Refused(
            [
                Problem(
                    "change-notice",
                    f"At {clinic.name}, a visit can be cancelled or moved online until "
                    f"{changes_close_in_words(policy.change_notice)}, and this one is on {begins}. "
                    f"To change it now, please {call}.",
                )
            ]
        )
    return policy.change_notice > timedelta(0)


def reschedule(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    visit_id: int,
    start: datetime,
    actor: str,
    override: Override | None = None,
    now: datetime | None = None,
    by_patient: bool = False,
) -> Booked:
    """Move a booked visit, with the same practitioner; the room and device are chosen again. `by_patient`: the
    patient is changing it themselves, so the clinic's notice for changes made online applies."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        visit = _booked_visit(session, visit_id)
        late = _late_change(session, visit, now, by_patient=by_patient)
        person = load_patient(session, visit.patient_id, ignore_visit=visit.id, lock=True)
        window = Interval(start - AROUND, start + AROUND)
        setup, view = lock_and_load(session, visit.clinic_id, window, ignore_visit=visit.id)
        kb = setup.knowledge(kb)
        offered = view.treatment(visit.treatment_slug, kb)
        _, equipment, problems = _pick(view, offered, start, visit.practitioner_id, person, now)
        today, day = clinic_day(now, view.zone), clinic_day(start, view.zone)
        advice = advise(kb, visit.treatment_slug, person.history, person.factors, today=today, on=day, area=visit.area)
        blocks = [r for r in advice.reasons if r.severity is Severity.BLOCK]
        problems += _override_problems(session, view, offered, blocks, override if not problems else None)
        problems += dependents(kb, session, visit, today, was_on=clinic_day(visit.start_at, view.zone), then_on=day)
        _refuse_unless_empty(problems)

        was = visit.start_at

        def move() -> None:
            visit.start_at, visit.end_at = start, start + offered.duration
            visit.held_from, visit.held_until = offered.occupies(start)  # the buffers the clinic asks for now
            visit.room_id = int(equipment.room.id) if equipment.room else None
            visit.device_id = int(equipment.device.id) if equipment.device else None

        write_visit(session, move)
        overridden = tuple(r.rule for r in blocks)
        _record_overrides(session, visit, overridden, override)
        audit_visit(
            session,
            actor,
            "visit.rescheduled",
            visit,
            was=was.isoformat(),
            overrides=list(overridden),
            **({"late": True} if late else {}),
        )
        record_visit_change(session, visit, "rescheduled", now=now, was=was)
        uow.commit()
        return Booked(visit, view.zone, tuple(r for r in advice.reasons if r.severity is Severity.WARN), overridden)


def lock_visit(session: Session, visit_id: int) -> models.Visit:
    """The visit, locked after its patient (the lock order every change keeps)."""
    found = session.get(models.Visit, visit_id)
    if found is None:
        raise NotFound("visit", f"no visit {visit_id}")
    session.get(models.Patient, found.patient_id, with_for_update=True)
    visit = session.get(models.Visit, visit_id, with_for_update=True, populate_existing=True)
    if visit is None:
        raise NotFound("visit", f"no visit {visit_id}")
    return visit


def _booked_visit(session: Session, visit_id: int) -> models.Visit:
    """The visit, locked, if it is still booked."""
    visit = lock_visit(session, visit_id)
    if visit.status is not models.VisitStatus.BOOKED:
        raise Refused([Problem("visit-not-booked", f"Visit {visit_id} is {visit.status}, not booked.")])
    return visit


def cancel(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    visit_id: int,
    actor: str,
    now: datetime | None = None,
    by_patient: bool = False,
) -> models.Visit:
    """Cancel a booked visit that has not started (what happened is recorded as completed or no-show instead).
    Refused, with the list, when another visit of the patient depends on it (a touch-up on its Botox), and
    when the patient cancels it themselves within the clinic's notice for changes made online."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        visit = _booked_visit(session, visit_id)
        if visit.start_at <= now:
            raise Refused(
                [
                    Problem(
                        "visit-started",
                        f"Visit {visit_id} began at {visit.start_at.isoformat()}: "
                        "record it as completed or no-show instead.",
                    )
                ]
            )
        late = _late_change(session, visit, now, by_patient=by_patient)
        zone = clinic_zone(visit.clinic.time_zone)
        kb = knowledge_for_clinic(session, visit.clinic_id, kb)
        was_on = clinic_day(visit.start_at, zone)
        _refuse_unless_empty(dependents(kb, session, visit, clinic_day(now, zone), was_on=was_on, then_on=None))
        visit.status = models.VisitStatus.CANCELLED
        visit.cancelled_late = late
        audit_visit(session, actor, "visit.cancelled", visit, **({"late": True} if late else {}))
        record_visit_change(session, visit, "cancelled", now=now)
        uow.commit()
        return visit
