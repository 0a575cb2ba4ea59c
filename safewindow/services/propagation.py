"""Moving a visit, and what it does to the patient's other visits.

`services.booking.reschedule` refuses a move that leaves another booked visit unsafe. Here staff see first which
visits a move would make unsafe, in either direction (a Botox now too soon after the moved microneedling, or a
microneedling now too soon after a moved Botox), with new dates for them from the planner; `apply_move` then
makes the move and those moves together in one transaction, through `reschedule` itself, so no visit is ever
left unsafe. The patient is told through the audit log's `plan.changed` entry (the outbox sends the notices)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.advice import Reason, Severity, advise
from safewindow.domain.availability import OfferedTreatment
from safewindow.domain.history import clinic_day
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_relations import slots_clash
from safewindow.domain.plan_requests import PlanRequest, PlanResult, PlanStatus, PlanWeights
from safewindow.domain.plan_templates import PlanStep, PlanTemplate
from safewindow.domain.slots import Patient, Slot, SlotRequest, find_slots
from safewindow.services.booking import Booked, Problem, Refused, reschedule
from safewindow.services.clinic_view import Diary, days_window, diary_of, get_clinic, load_clinic
from safewindow.services.errors import NotFound
from safewindow.services.notifications import plan_changed
from safewindow.services.plans import ALL_SLOTS, one_transaction
from safewindow.store import models
from safewindow.store.plan_models import PlanVisit
from safewindow.store.unit_of_work import UnitOfWork

ROUNDS = 4  # a re-planned visit may unsettle another; this many rounds of widening, then say so
REPLANNING = PlanWeights(finish_day=0, visit_day=0, extra_trip=0, away_from_target_day=10)


@dataclass(frozen=True)
class Affected:
    """A booked visit the move would make unsafe, and the rules it would break."""

    visit_id: int
    treatment: str
    start: datetime
    reasons: tuple[Problem, ...]


@dataclass(frozen=True)
class Replanned:
    visit_id: int
    treatment: str
    was: datetime
    start: datetime
    practitioner_id: int
    fit: str


@dataclass(frozen=True)
class MoveProposal:
    visit_id: int
    patient_id: int
    start: datetime
    zone: ZoneInfo
    status: PlanStatus  # infeasible: the move cannot be made safe
    unsafe: tuple[Affected, ...]
    replanned: tuple[Replanned, ...]
    explanation: str
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        def local(instant: datetime) -> str:
            return instant.astimezone(self.zone).isoformat()

        return {
            "visit": self.visit_id,
            "start": local(self.start),
            "status": str(self.status),
            "unsafe": [
                {
                    "visit": a.visit_id,
                    "treatment": a.treatment,
                    "start": local(a.start),
                    "reasons": [p.as_dict() for p in a.reasons],
                }
                for a in self.unsafe
            ],
            "replanned": [
                {
                    "visit": r.visit_id,
                    "treatment": r.treatment,
                    "was": local(r.was),
                    "start": local(r.start),
                    "practitioner": r.practitioner_id,
                    "fit": r.fit,
                }
                for r in self.replanned
            ],
            "problems": [p.as_dict() for p in self.problems],
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class _Diary(Diary):
    """The patient's diary, with the visit being moved and its clinic's zone."""

    moved: models.Visit
    zone: ZoneInfo


def _blocks(
    kb: KnowledgeBase, diary: _Diary, visit: models.Visit, days: Mapping[int, date], today: date
) -> list[Reason]:
    others = diary.history(days, {visit.id})
    advice = advise(kb, visit.treatment_slug, others, diary.factors, today=today, on=days[visit.id], area=visit.area)
    return [r for r in advice.reasons if r.severity is Severity.BLOCK]


def _problems(reasons: Sequence[Reason]) -> tuple[Problem, ...]:
    return tuple(Problem.of_reason(r) for r in reasons)


def _read(session: Session, visit_id: int) -> _Diary:
    moved = session.get(models.Visit, visit_id)
    if moved is None:
        raise NotFound("visit", f"no visit {visit_id}")
    if moved.status is not models.VisitStatus.BOOKED:
        raise Refused([Problem("visit-not-booked", f"Visit {visit_id} is {moved.status}, not booked.")])
    patient = session.get(models.Patient, moved.patient_id)
    assert patient is not None
    diary = diary_of(session, patient)
    zone = clinic_zone(moved.clinic.time_zone)
    return _Diary(diary.visits, diary.days, diary.prior, diary.factors, moved, zone)


def plan_move(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    visit_id: int,
    start: datetime,
    now: datetime | None = None,
) -> MoveProposal:
    """Which of the patient's booked visits moving `visit_id` to `start` makes unsafe, and new dates for them
    (same practitioner, as a move keeps it), as near their old dates as the rules and the diary allow."""
    now = now or now_utc()
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        diary = _read(session, visit_id)
        moved, zone = diary.moved, diary.zone
        today = clinic_day(now, zone)
        before = dict(diary.days)
        after = {**before, moved.id: clinic_day(start, zone)}

        def proposal(status: PlanStatus, explanation: str, **rest: Any) -> MoveProposal:
            return MoveProposal(moved.id, moved.patient_id, start, zone, status, explanation=explanation, **rest)

        unsafe: list[Affected] = []
        for visit in _future_booked(diary, today, leave_out={moved.id}):
            fresh = _fresh(kb, diary, visit, before, after, today)
            if fresh:
                unsafe.append(Affected(visit.id, visit.treatment_slug, visit.start_at, _problems(fresh)))
        own = _blocks(kb, diary, moved, after, today) if not unsafe else []
        if unsafe:
            leave = {a.visit_id for a in unsafe}
            own = [
                r
                for r in advise(
                    kb,
                    moved.treatment_slug,
                    diary.history(after, leave | {moved.id}),
                    diary.factors,
                    today=today,
                    on=after[moved.id],
                    area=moved.area,
                ).reasons
                if r.severity is Severity.BLOCK
            ]
        if own:
            return proposal(
                PlanStatus.INFEASIBLE,
                f"Moving visit {moved.id} to {after[moved.id]} is not safe whatever else moves.",
                unsafe=tuple(unsafe),
                replanned=(),
                problems=_problems(own),
            )
        if not unsafe:
            return proposal(PlanStatus.OPTIMAL, "No other visit is affected.", unsafe=(), replanned=())

        for _ in range(ROUNDS):
            moving = [v for v in diary.visits if v.id in {a.visit_id for a in unsafe}]
            result = _replan(session, kb, diary, moving, start, after, today, now)
            if result.status is PlanStatus.INFEASIBLE:
                return proposal(
                    PlanStatus.INFEASIBLE,
                    f"The visits this move makes unsafe cannot be re-planned safely. {result.explanation}",
                    unsafe=tuple(unsafe),
                    replanned=(),
                    problems=tuple(Problem(c.rule, c.message) for c in result.conflicts),
                )
            replanned = [
                Replanned(
                    moving[v.step].id,
                    v.treatment,
                    moving[v.step].start_at,
                    v.slot.start,
                    int(v.slot.practitioner_id),
                    str(v.fit),
                )
                for v in result.visits
            ]
            settled = {**after, **{r.visit_id: clinic_day(r.start, zone) for r in replanned}}
            more = [
                Affected(v.id, v.treatment_slug, v.start_at, _problems(fresh))
                for v in _future_booked(diary, today, leave_out={moved.id} | {r.visit_id for r in replanned})
                if (fresh := _fresh(kb, diary, v, before, settled, today))
            ]
            if not more:
                return proposal(
                    result.status,
                    f"{len(unsafe)} visit(s) would be unsafe; re-planned. {result.explanation}",
                    unsafe=tuple(unsafe),
                    replanned=tuple(replanned),
                )
            unsafe += more
        return proposal(
            PlanStatus.INFEASIBLE,
            f"Re-planning kept unsettling more visits after {ROUNDS} rounds; move them one by one.",
            unsafe=tuple(unsafe),
            replanned=(),
        )


def _future_booked(diary: _Diary, today: date, leave_out: set[int]) -> list[models.Visit]:
    return [
        v
        for v in diary.visits
        if v.id not in leave_out and v.status is models.VisitStatus.BOOKED and diary.days[v.id] >= today
    ]


def _fresh(
    kb: KnowledgeBase,
    diary: _Diary,
    visit: models.Visit,
    before: Mapping[int, date],
    after: Mapping[int, date],
    today: date,
) -> list[Reason]:
    """Blocks the change brings to `visit`: those it had already (an override on record) are not the move's."""
    had = {r.rule for r in _blocks(kb, diary, visit, before, today)}
    return [r for r in _blocks(kb, diary, visit, after, today) if r.rule not in had]


def _replan(
    session: Session,
    kb: KnowledgeBase,
    diary: _Diary,
    moving: list[models.Visit],
    start: datetime,
    days: Mapping[int, date],
    today: date,
    now: datetime,
) -> PlanResult:
    """New dates for `moving`, the rest of the diary fixed (the moved visit at its new time): one step per
    visit, in either order, each as near its old date as the rules allow, with its own practitioner."""
    moved, zone = diary.moved, diary.zone
    leave = {v.id for v in moving}
    history = diary.history(days, leave)
    end = start + (moved.end_at - moved.start_at)
    busy = BusyTimes.of(
        [Interval(start, end)]
        + [Interval(v.start_at, v.end_at) for v in diary.visits if v.id not in leave and v.id != moved.id]
    )
    there = Slot(start, end, str(moved.practitioner_id), None, None, None)
    candidates: list[list[Slot]] = []
    offered: dict[str, OfferedTreatment] = {}
    last_days: list[date] = []
    for visit in moving:
        clinic = get_clinic(session, visit.clinic_id)
        last = today + timedelta(days=clinic.policy.horizon_days if clinic.policy else 90)
        view = load_clinic(session, visit.clinic_id, days_window(today, last, zone), ignore_visit=visit.id)
        treatment = view.treatment(visit.treatment_slug, kb)
        offered[visit.treatment_slug] = treatment
        last_days.append(last)
        request = SlotRequest(
            clinic=view.clinic,
            treatment=treatment,
            practitioners=view.practitioners,
            now=now,
            policy=view.policy,
            limit=ALL_SLOTS,
            practitioner_id=str(visit.practitioner_id),
            patient=Patient(history=history, factors=diary.factors, area=visit.area, busy=busy),
            knowledge=kb,
            first_day=today,
            last_day=last,
        )
        # The moved visit's room is chosen when it moves: keep its practitioner's buffers clear of it.
        candidates.append(
            [
                s
                for s in find_slots(request)
                if not slots_clash(s, treatment, there, view.offered.get(moved.treatment_slug))
            ]
        )
    template = PlanTemplate(
        "re-plan",
        "Re-plan after a move",
        "new dates for the visits a move makes unsafe",
        False,
        tuple(PlanStep(v.treatment_slug) for v in moving),
    )
    request_plan = PlanRequest(
        template,
        kb,
        today,
        zone,
        history=history,
        factors=diary.factors,
        area=moved.area,
        first_day=today,
        last_day=max(last_days),
        weights=REPLANNING,
        treatments=offered,
        targets={index: diary.days[v.id] for index, v in enumerate(moving)},
    )
    from safewindow.domain.planning import plan  # OR-Tools takes a third of a second to import: only when planning

    return plan(request_plan, candidates)


def apply_move(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    visit_id: int,
    start: datetime,
    actor: str,
    replanned: Mapping[int, datetime] | None = None,
    now: datetime | None = None,
) -> tuple[Booked, ...]:
    """Make the move and the re-planned moves (those staff confirmed, or `plan_move`'s own) in one transaction,
    each through `reschedule`, which checks it again with every other visit: all of them, or none."""
    now = now or now_utc()
    if replanned is None:
        proposal = plan_move(session_factory, kb, visit_id=visit_id, start=start, now=now)
        if proposal.status is PlanStatus.INFEASIBLE:
            raise Refused(list(proposal.problems) or [Problem("move-unsafe", proposal.explanation)])
        replanned = {r.visit_id: r.start for r in proposal.replanned}
    moves = {visit_id: start, **{k: v for k, v in replanned.items() if k != visit_id}}
    with one_transaction(session_factory) as joined:
        with UnitOfWork(joined, write=True) as uow:
            session = uow.session
            rows = {v: session.get(models.Visit, v) for v in moves}
            missing = [v for v, row in rows.items() if row is None]
            if missing:
                raise NotFound("visit", f"no visit {missing[0]}")
            found = {v: row for v, row in rows.items() if row is not None}
            patients = {row.patient_id for row in found.values()}
            if len(patients) != 1:
                raise Refused([Problem("not-one-patient", "A move and its re-planned visits belong to one patient.")])
            patient_id = patients.pop()
            # The lock order every change keeps (patient, then visits by id), held to the end of the transaction.
            session.get(models.Patient, patient_id, with_for_update=True)
            for v in sorted(found):
                session.get(models.Visit, v, with_for_update=True, populate_existing=True)
            was = {v: row.start_at for v, row in found.items()}
            plans = sorted(set(session.scalars(select(PlanVisit.plan_id).where(PlanVisit.visit_id.in_(list(moves))))))
            uow.commit()
        # Each intermediate state is checked too: visits moving later go first, latest first, then those moving
        # earlier, earliest first, so no visit is ever pushed through another.
        later = sorted((v for v in moves if moves[v] >= was[v]), key=lambda v: moves[v], reverse=True)
        earlier = sorted((v for v in moves if moves[v] < was[v]), key=lambda v: moves[v])
        done = {v: reschedule(joined, kb, visit_id=v, start=moves[v], actor=actor, now=now) for v in later + earlier}
        with UnitOfWork(joined, write=True) as uow:
            # Ids and times only (PIPA); the patient's notices follow from this entry and the moves' own.
            uow.session.add(
                models.AuditEntry(
                    actor=actor,
                    action="plan.changed",
                    entity="patient",
                    entity_id=str(patient_id),
                    detail={
                        "trigger_visit": visit_id,
                        "plans": plans,
                        "moves": [
                            {"visit_id": v, "was": was[v].isoformat(), "start": moves[v].isoformat()} for v in moves
                        ],
                    },
                )
            )
            uow.session.flush()
            change = uow.session.scalar(select(func.max(models.AuditEntry.id)))  # unique per change: the key
            moved_clinic = done[visit_id].visit.clinic_id
            lines = [
                f"- a visit moved from {local_text(was[v], done[v].zone)} to {local_text(moves[v], done[v].zone)}"
                for v in moves
            ]
            for plan_id in plans:
                plan_changed(
                    uow.session,
                    patient_id=patient_id,
                    clinic_id=moved_clinic,
                    plan_id=plan_id,
                    plan_version=int(change or 0),
                    details=lines,
                    now=now,
                )
            uow.commit()
    return tuple(done[v] for v in moves)


def local_text(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %d %b %Y, %H:%M")
