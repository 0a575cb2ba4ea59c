"""A patient's chart: who they are, their personal factors with when and by whom each was recorded, what they
have had (here and elsewhere), and their upcoming visits, each with what the advisor says about it today.

The advisor's word on a booked visit can change after it was booked: a factor recorded later, a visit moved.
The chart shows it, so staff see it before the patient arrives. The chart's one change is the intake: the
answers to the knowledge base's factor questions, and treatments had elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.advice import Advice, Reason, Severity, advise
from safewindow.domain.consent import Coverage, Signature
from safewindow.domain.history import PastVisit, clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.advice import check_factors
from safewindow.services.clinic_view import load_patient
from safewindow.services.consents import coverage_of_visits, signatures_of
from safewindow.services.contact_preferences import ContactPreferences, contact_preferences
from safewindow.services.errors import InputError, NotFound
from safewindow.services.offers import change_notice
from safewindow.services.orders import Order, covered_by, orders_of, uncovered_visits
from safewindow.services.treatment_records import Record, records_of_patient
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ChartFactor:
    factor_id: str
    recorded_at: datetime
    recorded_by: str
    active: bool
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChartPrior:
    treatment: str
    day: date
    area: str
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True)
class ChartOverride:
    rule: str
    reason: str
    practitioner: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ChartVisit:
    visit_id: int
    treatment: str
    clinic_id: int
    clinic: str
    zone: ZoneInfo
    practitioner_id: int
    practitioner: str
    room: str | None
    start: datetime  # in the clinic's zone
    end: datetime
    area: str
    status: str
    overrides: tuple[ChartOverride, ...]
    reasons: tuple[Reason, ...] = ()  # upcoming visits: the advisor's blocks and warnings for their day, today
    clinic_phone: str | None = None
    begun: bool = False  # what happened may be recorded (completed or no-show) once it has begun
    change_notice: timedelta = timedelta(0)  # the patient may cancel or move it online until this long before
    uncovered: str | None = None  # upcoming: its practitioner gives it only on a prescriber's order, and none covers it
    records: tuple[Record, ...] = ()  # what was given, newest (its record) first; earlier ones were amended
    consent: Coverage | None = None  # whether the patient's signed consent form covers it (None: not read)

    @property
    def changes_close(self) -> datetime:
        """Until when the patient may cancel or move it online."""
        return self.start - self.change_notice


@dataclass(frozen=True)
class Chart:
    patient_id: int
    name: str
    birth_date: date
    email: str
    phone: str | None
    factors: tuple[ChartFactor, ...]  # newest first, the resolved ones too
    prior: tuple[ChartPrior, ...]
    past: tuple[ChartVisit, ...]  # newest first
    upcoming: tuple[ChartVisit, ...]  # soonest first
    orders: tuple[Order, ...] = ()  # prescribers' client-specific orders, newest first, revoked ones too
    contact: ContactPreferences | None = None  # how they hear from the clinic (None: not read)
    consents: tuple[Signature, ...] = ()  # signed consent forms, newest first, withdrawn ones too

    @property
    def active_factors(self) -> frozenset[str]:
        return frozenset(f.factor_id for f in self.factors if f.active)


def load_chart(session: Session, kb: KnowledgeBase, patient_id: int, now: datetime | None = None) -> Chart:
    now = now or now_utc()
    patient = session.get(models.Patient, patient_id)
    if patient is None:
        raise NotFound("patient", f"no patient {patient_id}")
    visits = list(
        session.scalars(
            select(models.Visit)
            .where(models.Visit.patient_id == patient_id)
            .options(
                selectinload(models.Visit.clinic).selectinload(models.Clinic.policy),
                selectinload(models.Visit.practitioner),
                selectinload(models.Visit.room),
                selectinload(models.Visit.overrides).selectinload(models.Override.practitioner),
            )
            .order_by(models.Visit.start_at, models.Visit.id)
        )
    )
    prior = tuple(
        ChartPrior(p.treatment_slug, p.day, p.area, p.recorded_at, p.recorded_by)
        for p in session.scalars(
            select(models.PriorTreatment)
            .where(models.PriorTreatment.patient_id == patient_id)
            .order_by(models.PriorTreatment.day.desc())
        )
    )
    factors = tuple(
        ChartFactor(f.factor_id, f.recorded_at, f.recorded_by, f.active, f.resolved_at)
        for f in sorted(patient.factors, key=lambda f: f.recorded_at, reverse=True)
    )
    active = tuple(dict.fromkeys(f.factor_id for f in factors if f.active and f.factor_id in kb.factors))
    days = {v.id: clinic_day(v.start_at, clinic_zone(v.clinic.time_zone)) for v in visits}
    history = [PastVisit(p.treatment, p.day, p.area) for p in prior]
    holding = [v for v in visits if v.status in models.ACTIVE_STATUSES]

    orders = orders_of(session, patient_id)
    ahead = [v for v in visits if v.status is models.VisitStatus.BOOKED and v.end_at > now]
    uncovered = uncovered_visits(session, ahead, covered_by(orders))
    records = records_of_patient(session, patient_id)
    consents = tuple(signatures_of(session, patient_id))
    consent = coverage_of_visits(session, patient_id, visits, consents)

    past, upcoming = [], []
    rules: dict[int, KnowledgeBase] = {}  # each clinic's own adjustments of the rules
    for visit in visits:
        if visit.status is models.VisitStatus.BOOKED and visit.end_at > now:
            zone = clinic_zone(visit.clinic.time_zone)
            others = history + [PastVisit(o.treatment_slug, days[o.id], o.area) for o in holding if o.id != visit.id]
            reasons: tuple[Reason, ...] = ()
            if visit.treatment_slug in kb.treatments:
                if visit.clinic_id not in rules:
                    rules[visit.clinic_id] = knowledge_for_clinic(session, visit.clinic_id, kb)
                advice = advise(
                    rules[visit.clinic_id],
                    visit.treatment_slug,
                    others,
                    active,
                    today=clinic_day(now, zone),
                    on=days[visit.id],
                    area=visit.area,
                )
                reasons = tuple(r for r in advice.reasons if r.severity is not Severity.INFO)
            problem = uncovered.get(visit.id)
            upcoming.append(
                _visit(visit, now, reasons, problem.message if problem else None, consent=consent[visit.id])
            )
        else:
            past.append(_visit(visit, now, records=records.get(visit.id, ()), consent=consent[visit.id]))
    return Chart(
        patient_id=patient.id,
        name=patient.name,
        birth_date=patient.birth_date,
        email=patient.email,
        phone=patient.phone,
        factors=factors,
        prior=prior,
        past=tuple(reversed(past)),
        upcoming=tuple(upcoming),
        orders=tuple(orders),
        contact=contact_preferences(session, patient.id),
        consents=consents,
    )


def _visit(
    visit: models.Visit,
    now: datetime,
    reasons: tuple[Reason, ...] = (),
    uncovered: str | None = None,
    records: tuple[Record, ...] = (),
    consent: Coverage | None = None,
) -> ChartVisit:
    zone = clinic_zone(visit.clinic.time_zone)
    return ChartVisit(
        visit_id=visit.id,
        treatment=visit.treatment_slug,
        clinic_id=visit.clinic_id,
        clinic=visit.clinic.name,
        zone=zone,
        practitioner_id=visit.practitioner_id,
        practitioner=visit.practitioner.name,
        room=visit.room.name if visit.room else None,
        start=visit.start_at.astimezone(zone),
        end=visit.end_at.astimezone(zone),
        area=visit.area,
        status=str(visit.status),
        overrides=tuple(
            ChartOverride(o.rule_id, o.reason, o.practitioner.name, o.at)
            for o in sorted(visit.overrides, key=lambda o: o.at)
        ),
        reasons=reasons,
        clinic_phone=visit.clinic.phone,
        change_notice=change_notice(visit.clinic),
        begun=visit.start_at <= now,
        uncovered=uncovered,
        records=records,
        consent=consent,
    )


@dataclass(frozen=True, slots=True)
class IntakeChange:
    added: tuple[str, ...]  # factor ids now recorded
    resolved: tuple[str, ...]  # factor ids no longer true
    prior_added: bool


def record_intake(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    patient_id: int,
    factors: Iterable[str],
    actor: str,
    today: date,
    prior: PastVisit | None = None,
    now: datetime | None = None,
) -> IntakeChange:
    """The answers to every factor question at once: `factors` are those answered yes; an active factor not
    among them is resolved (kept, with the time, never deleted: the chart says what was true when).
    `prior` is a treatment had elsewhere, which counts in the timing rules from now on."""
    now = now or now_utc()
    chosen = set(check_factors(factors, kb))
    if prior is not None:
        if prior.treatment not in kb.treatments:
            raise InputError("prior_treatment", f"unknown treatment {prior.treatment!r}")
        if prior.day > today:
            raise InputError("prior_date", f"{prior.day} is in the future; book a visit instead")
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        # The patient's row first, as every booking takes it: a booking checking these factors waits for us.
        patient = session.get(models.Patient, patient_id, with_for_update=True)
        if patient is None:
            raise NotFound("patient", f"no patient {patient_id}")
        active = {f.factor_id: f for f in patient.factors if f.active}
        added = sorted(chosen - set(active))
        resolved = sorted(set(active) - chosen)
        for factor_id in added:
            patient.factors.append(models.PatientFactor(factor_id=factor_id, recorded_by=actor, recorded_at=now))
        for factor_id in resolved:
            active[factor_id].active = False
            active[factor_id].resolved_at = now
        if prior is not None:
            session.add(
                models.PriorTreatment(
                    patient_id=patient_id,
                    treatment_slug=prior.treatment,
                    day=prior.day,
                    area=prior.area,
                    recorded_by=actor,
                    recorded_at=now,
                )
            )
        if added or resolved or prior is not None:
            # Counts only: which factors a patient has is health data, and stays in the chart.
            session.add(
                models.AuditEntry(
                    actor=actor,
                    action="patient.intake-recorded",
                    entity="patient",
                    entity_id=str(patient_id),
                    detail={"factors_added": len(added), "factors_resolved": len(resolved), "prior": int(bool(prior))},
                )
            )
        uow.commit()
    return IntakeChange(tuple(added), tuple(resolved), prior is not None)


def advice_for_patient(
    session: Session,
    kb: KnowledgeBase,
    patient_id: int,
    treatment: str,
    *,
    today: date,
    on: date | None = None,
    clinic_id: int | None = None,
    area: str = models.DEFAULT_AREA,
    ignore_visit: int | None = None,
) -> Advice:
    """What the advisor says about `treatment` for this patient: their whole history (done, booked, had
    elsewhere) and active factors, with the clinic's own rule adjustments, as booking itself checks them.
    `ignore_visit` leaves out the visit being moved."""
    person = load_patient(session, patient_id, ignore_visit=ignore_visit)
    rules = kb if clinic_id is None else knowledge_for_clinic(session, clinic_id, kb)
    return advise(rules, treatment, person.history, person.factors, today=today, on=on, area=area)
