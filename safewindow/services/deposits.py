"""Deposits, as the front desk keeps them: a clinic asks a deposit to hold a visit of a treatment (its offer's
`deposit_cents`; a visit keeps the amount it was booked with), and its staff record each step of it here:
taken (how, and the receipt's number), applied to the visit, refunded, kept, or waived (with a reason).
safewindow takes no payments; the money moves at the clinic's terminal, till or bank, and this is its ledger.

Which step may follow which, and what is left to do, is the policy in domain/deposits.py: a visit cancelled
within the clinic's notice for changes, or not attended, lets the clinic keep its deposit; cancelled in time,
it is refunded. `to_act_on` lists a clinic's deposits with something left to do, and `late_and_missed` its late
cancellations and no-shows. Each step is one transaction, audited with ids and amounts only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain import deposits as policy
from safewindow.domain.deposits import METHODS, State, Step, Todo
from safewindow.domain.history import clinic_day
from safewindow.services.booking import Problem, Refused, audit_visit, lock_visit
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import FieldProblems, NotFound
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

LONGEST = {"reference": 64, "reason": 500}
LOOK_BACK = timedelta(days=180)  # how far back `to_act_on` looks for deposits still to settle


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    step: Step
    amount_cents: int
    method: str | None
    reference: str
    reason: str
    recorded_by: str
    recorded_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "step": str(self.step),
            "amount_cents": self.amount_cents,
            "method": self.method,
            "reference": self.reference,
            "reason": self.reason,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Deposit:
    """A visit's deposit: its amount, where it stands, what is left to do, and the ledger, oldest first."""

    visit_id: int
    amount_cents: int
    state: State
    todo: Todo | None
    allowed: tuple[Step, ...]  # the steps that may be recorded now
    entries: tuple[Entry, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "visit_id": self.visit_id,
            "amount_cents": self.amount_cents,
            "state": str(self.state),
            "todo": str(self.todo) if self.todo else None,
            "allowed": [str(step) for step in self.allowed],
            "entries": [entry.as_dict() for entry in self.entries],
        }


@dataclass(frozen=True, slots=True)
class ClinicDeposit:
    """A line of a clinic's list: the deposit, and the visit and patient it concerns."""

    deposit: Deposit
    patient_id: int
    patient: str
    treatment: str
    start: datetime  # on the clinic's clock
    status: str

    def as_dict(self) -> dict[str, object]:
        return {
            **self.deposit.as_dict(),
            "patient_id": self.patient_id,
            "patient": self.patient,
            "treatment": self.treatment,
            "start": self.start.isoformat(),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class LateOrMissed:
    visit_id: int
    patient_id: int
    patient: str
    treatment: str
    day: date  # the visit's day in the clinic's zone
    status: str  # cancelled (late) or no-show
    deposit_cents: int

    def as_dict(self) -> dict[str, object]:
        return {
            "visit_id": self.visit_id,
            "patient_id": self.patient_id,
            "patient": self.patient,
            "treatment": self.treatment,
            "day": self.day.isoformat(),
            "status": self.status,
            "deposit_cents": self.deposit_cents,
        }


def record_step(
    session_factory: sessionmaker[Session],
    *,
    visit_id: int,
    step: Step,
    actor: str,
    method: str | None = None,
    reference: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> Deposit:
    """Record a step of the visit's deposit: every field at fault is named (FieldProblems), and a step the
    policy does not allow now is refused with why (Refused)."""
    now = now or now_utc()
    reference, reason = reference.strip(), reason.strip()
    texts = {"reference": reference, "reason": reason}
    problems = [(f, f"at most {LONGEST[f]} characters") for f, value in texts.items() if len(value) > LONGEST[f]]
    if step in (Step.TAKEN, Step.REFUNDED):
        if method not in METHODS:
            problems.append(("method", f"say how the money changed hands: one of {', '.join(METHODS)}"))
    elif method is not None:
        problems.append(("method", f"only a deposit taken or refunded has a method, not one {step}"))
    if step is Step.WAIVED and not reason:
        problems.append(("reason", "say why the deposit is waived"))
    if problems:
        raise FieldProblems(problems)
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        visit = lock_visit(session, visit_id)
        before = _deposits(session, [visit])[visit.id]
        why = policy.problem(before.state, step, _policy_visit(visit))
        if why is not None:
            message = f"Visit {visit_id}'s deposit cannot be {step}: {why}."
            raise Refused([Problem(f"deposit-cannot-be-{step}", message)])
        row = models.DepositEntry(
            visit_id=visit.id,
            step=str(step),
            amount_cents=visit.deposit_cents,
            method=method,
            reference=reference,
            reason=reason,
            recorded_by=actor,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        audit_visit(session, actor, f"visit.deposit-{step}", visit, entry_id=row.id, amount_cents=row.amount_cents)
        after = _deposit(visit, (*before.entries, _entry(row)))  # the ledger as read, and this step
        uow.commit()
        return after


def deposit_of_visit(session: Session, visit_id: int) -> Deposit:
    visit = session.get(models.Visit, visit_id)
    if visit is None:
        raise NotFound("visit", f"no visit {visit_id}")
    return _deposits(session, [visit])[visit_id]


def deposits_of_patient(session: Session, patient_id: int) -> dict[int, Deposit]:
    """Each of the patient's visits that asks a deposit, by visit id (a chart's, in two queries)."""
    visits = session.scalars(
        select(models.Visit).where(models.Visit.patient_id == patient_id, models.Visit.deposit_cents > 0)
    )
    return _deposits(session, list(visits))


def to_act_on(session: Session, clinic_id: int, *, now: datetime | None = None) -> list[ClinicDeposit]:
    """The clinic's deposits with something left to do, earliest visit first: due for a booked visit, or held
    for one that has happened, was cancelled or was missed (visits of the last 180 days and later). Times are on
    the clinic's clock; NotFound for an unknown clinic."""
    now = now or now_utc()
    zone = clinic_zone(get_clinic(session, clinic_id).time_zone)
    rows = session.execute(
        select(models.Visit, models.Patient.name)
        .join(models.Patient, models.Patient.id == models.Visit.patient_id)
        .where(
            models.Visit.clinic_id == clinic_id,
            models.Visit.deposit_cents > 0,
            models.Visit.start_at >= now - LOOK_BACK,
        )
        .order_by(models.Visit.start_at, models.Visit.id)
    ).all()
    deposits = _deposits(session, [visit for visit, _ in rows])
    return [
        ClinicDeposit(
            deposits[visit.id],
            visit.patient_id,
            name,
            visit.treatment_slug,
            visit.start_at.astimezone(zone),
            str(visit.status),
        )
        for visit, name in rows
        if deposits[visit.id].todo is not None
    ]


def late_and_missed(session: Session, clinic_id: int, first: date, last: date) -> list[LateOrMissed]:
    """The clinic's visits from `first` to `last` (its days) cancelled within its notice for changes or not
    attended, earliest first."""
    zone = clinic_zone(get_clinic(session, clinic_id).time_zone)
    begins = datetime.combine(first, datetime.min.time(), zone)
    ends = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    rows = session.execute(
        select(models.Visit, models.Patient.name)
        .join(models.Patient, models.Patient.id == models.Visit.patient_id)
        .where(
            models.Visit.clinic_id == clinic_id,
            models.Visit.start_at >= begins,
            models.Visit.start_at < ends,
            or_(
                models.Visit.status == models.VisitStatus.NO_SHOW,
                (models.Visit.status == models.VisitStatus.CANCELLED) & models.Visit.cancelled_late,
            ),
        )
        .order_by(models.Visit.start_at, models.Visit.id)
    )
    return [
        LateOrMissed(
            visit.id,
            visit.patient_id,
            name,
            visit.treatment_slug,
            clinic_day(visit.start_at, zone),
            str(visit.status),
            visit.deposit_cents,
        )
        for visit, name in rows
    ]


def _policy_visit(visit: models.Visit) -> policy.Visit:
    return policy.Visit(str(visit.status), visit.cancelled_late)


def _deposits(session: Session, visits: list[models.Visit]) -> dict[int, Deposit]:
    if not visits:
        return {}
    found: defaultdict[int, list[Entry]] = defaultdict(list)
    rows = session.scalars(
        select(models.DepositEntry)
        .where(models.DepositEntry.visit_id.in_([visit.id for visit in visits]))
        .order_by(models.DepositEntry.id)
    )
    for row in rows:
        found[row.visit_id].append(_entry(row))
    return {visit.id: _deposit(visit, tuple(found[visit.id])) for visit in visits}


def _entry(row: models.DepositEntry) -> Entry:
    return Entry(
        id=row.id,
        step=Step(row.step),
        amount_cents=row.amount_cents,
        method=row.method,
        reference=row.reference,
        reason=row.reason,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def _deposit(visit: models.Visit, entries: tuple[Entry, ...]) -> Deposit:
    """The visit's deposit after `entries`, its ledger in order."""
    now = policy.state(visit.deposit_cents, [entry.step for entry in entries])
    facts = _policy_visit(visit)
    return Deposit(visit.id, visit.deposit_cents, now, policy.todo(now, facts), policy.allowed(now, facts), entries)
