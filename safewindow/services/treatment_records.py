"""What was given at a visit, recorded by a practitioner once the visit is recorded as completed: the product,
its lot number and expiry, the dose, the areas treated, a note, and their confirmation that the patient gave
informed consent before it (the record cannot be saved without it). The lot number is what a product recall
names: `visits_with_lot` finds every patient who had that lot. An injected treatment's record may carry its
injection map: the amount given at each site (domain/injection_map.py).

A record is never changed: a correction is a new record of the same visit, and the newest is the visit's
record (the chart shows the earlier ones as amended). Audited by ids; what was given stays in the chart."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.history import clinic_day
from safewindow.domain.injection_map import PLACES, InjectionMaps, Point, amount_text, read_points, total
from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Problem, Refused, audit_visit, lock_visit
from safewindow.services.errors import FieldProblems, NotFound
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

LONGEST = {"product": 200, "lot_number": 64, "dose": 100, "areas": 500, "note": 2000}
LOT = re.compile(rf"[A-Z0-9][A-Z0-9./-]{{0,{LONGEST['lot_number'] - 1}}}")


@dataclass(frozen=True, slots=True)
class Record:
    id: int
    visit_id: int
    product: str
    lot_number: str
    expires_on: date | None
    dose: str
    areas: str
    note: str
    recorded_by: str
    recorded_at: datetime
    visit_day: date  # the visit's calendar day in its clinic's zone
    points: tuple[Point, ...] = ()  # the injection map, in drawing order

    @property
    def expired_when_given(self) -> bool:
        return self.expires_on is not None and self.expires_on < self.visit_day

    @property
    def injected(self) -> str:
        """The map's total as a practitioner writes it ('44 units'), or '' without a map."""
        return f"{amount_text(total(self.points))} {self.points[0].unit}" if self.points else ""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "visit_id": self.visit_id,
            "product": self.product,
            "lot_number": self.lot_number,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "dose": self.dose,
            "areas": self.areas,
            "note": self.note,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
            "expired_when_given": self.expired_when_given,
            "injection_points": [{"site": p.site, "amount": float(p.amount), "unit": p.unit} for p in self.points],
        }


@dataclass(frozen=True, slots=True)
class LotVisit:
    """A visit whose record names the lot: whom to contact in a recall."""

    visit_id: int
    patient_id: int
    patient: str
    clinic: str
    day: date
    treatment: str
    product: str
    record_id: int

    def as_dict(self) -> dict[str, object]:
        return {
            "visit_id": self.visit_id,
            "patient_id": self.patient_id,
            "patient": self.patient,
            "clinic": self.clinic,
            "day": self.day.isoformat(),
            "treatment": self.treatment,
            "product": self.product,
            "record_id": self.record_id,
        }


def lot_number(text: str) -> str:
    """The lot number as printed, in upper case; FieldProblems naming `lot_number` when it cannot be one."""
    lot = text.strip().upper()
    if not LOT.fullmatch(lot):
        raise FieldProblems(
            [("lot_number", "give the lot number as printed: letters and digits, with '-', '.' or '/' (at most 64)")]
        )
    return lot


def record_treatment(
    session_factory: sessionmaker[Session],
    *,
    visit_id: int,
    product: str,
    lot: str,
    expires_on: date | None = None,
    dose: str = "",
    areas: str = "",
    note: str = "",
    consent: bool,
    actor: str,
    points: Sequence[tuple[str, object]] = (),
    maps: InjectionMaps | None = None,
    now: datetime | None = None,
) -> Record:
    """Record what was given at the completed visit (or correct its record), with the injection map's
    (site, amount) points if any. Every field at fault is named (a point as `injection_points.SITE`)."""
    now = now or now_utc()
    maps = maps or default_injection_maps()
    texts = {"product": product.strip(), "dose": dose.strip(), "areas": areas.strip(), "note": note.strip()}
    problems = [(f, f"at most {LONGEST[f]} characters") for f, value in texts.items() if len(value) > LONGEST[f]]
    if not texts["product"]:
        problems.append(("product", "name the product given, as on its package"))
    try:
        lot = lot_number(lot)
    except FieldProblems as error:
        problems += error.problems
    if not consent:
        problems.append(("consent", "confirm that the patient gave informed consent before the treatment"))
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        visit = lock_visit(session, visit_id)
        # Which sites fit depends on the visit's treatment, so the map is checked once the visit is read;
        # nothing is written before every field is.
        mapped, wrong = read_points(points, maps, visit.treatment_slug, _treatment_name(visit.treatment_slug))
        problems += [(_point_field(site), problem) for site, problem in wrong]
        if problems:
            raise FieldProblems(problems)
        if visit.status is not models.VisitStatus.COMPLETED:
            raise Refused(
                [
                    Problem(
                        "visit-not-completed",
                        f"Visit {visit_id} is {visit.status}: record what was given once it is recorded as completed.",
                    )
                ]
            )
        earlier = session.scalar(
            select(func.count()).select_from(models.TreatmentRecord).where(models.TreatmentRecord.visit_id == visit_id)
        )
        row = models.TreatmentRecord(
            visit_id=visit_id,
            lot_number=lot,
            expires_on=expires_on,
            consent_confirmed=True,
            recorded_by=actor,
            recorded_at=now,
            **texts,
        )
        row.points = [
            models.InjectionPoint(site=p.site, amount_hundredths=int(p.amount / PLACES), unit=p.unit) for p in mapped
        ]
        session.add(row)
        session.flush()
        audit_visit(session, actor, "visit.treatment-recorded", visit, record_id=row.id, amends=bool(earlier))
        record = _record(row, clinic_day(visit.start_at, clinic_zone(visit.clinic.time_zone)))
        uow.commit()
        return record


def records_of_patient(session: Session, patient_id: int) -> dict[int, tuple[Record, ...]]:
    """Each of the patient's visits with a record -> its records, newest (the visit's record) first."""
    return _records(session, models.Visit.patient_id == patient_id)


def records_of_visit(session: Session, visit_id: int) -> tuple[Record, ...]:
    """The visit's records, newest first; NotFound for an unknown visit."""
    if session.get(models.Visit, visit_id) is None:
        raise NotFound("visit", f"no visit {visit_id}")
    return _records(session, models.Visit.id == visit_id).get(visit_id, ())


def records_of_visits(session: Session, visit_ids: Iterable[int]) -> dict[int, tuple[Record, ...]]:
    """Each of these visits with a record -> its records, newest first: one read for a page of visits."""
    return _records(session, models.Visit.id.in_(list(visit_ids)))


def _records(session: Session, which: ColumnElement[bool]) -> dict[int, tuple[Record, ...]]:
    rows = session.execute(
        select(models.TreatmentRecord, models.Visit.start_at, models.Clinic.time_zone)
        .join(models.Visit, models.Visit.id == models.TreatmentRecord.visit_id)
        .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
        .where(which)
        .order_by(models.TreatmentRecord.id.desc())
        .options(selectinload(models.TreatmentRecord.points))  # one more query for all the maps
    )
    found: defaultdict[int, list[Record]] = defaultdict(list)
    for row, start, zone in rows:
        found[row.visit_id].append(_record(row, clinic_day(start, clinic_zone(zone))))
    return {visit: tuple(records) for visit, records in found.items()}


def visits_with_lot(session: Session, lot: str, clinic_id: int | None = None) -> list[LotVisit]:
    """Every visit (at the clinic, or anywhere) whose current record names the lot, earliest first."""
    lot = lot_number(lot)
    current = select(func.max(models.TreatmentRecord.id)).group_by(models.TreatmentRecord.visit_id).scalar_subquery()
    query = (
        select(models.TreatmentRecord, models.Visit, models.Patient.name, models.Clinic)
        .join(models.Visit, models.Visit.id == models.TreatmentRecord.visit_id)
        .join(models.Patient, models.Patient.id == models.Visit.patient_id)
        .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
        .where(models.TreatmentRecord.lot_number == lot, models.TreatmentRecord.id.in_(current))
        .order_by(models.Visit.start_at, models.Visit.id)
    )
    if clinic_id is not None:
        query = query.where(models.Visit.clinic_id == clinic_id)
    return [
        LotVisit(
            visit.id,
            visit.patient_id,
            name,
            clinic.name,
            clinic_day(visit.start_at, clinic_zone(clinic.time_zone)),
            visit.treatment_slug,
            row.product,
            row.id,
        )
        for row, visit, name, clinic in session.execute(query)
    ]


def _treatment_name(slug: str) -> str:
    treatment = default_knowledge_base().treatments.get(slug)
    return treatment.name if treatment else slug


def _point_field(site: str) -> str:
    return f"injection_points.{site}" if site else "injection_points"


def _record(row: models.TreatmentRecord, visit_day: date) -> Record:
    # Written in drawing order (read_points), so read back by id in drawing order.
    points = tuple(Point(p.site, Decimal(p.amount_hundredths) * PLACES, p.unit) for p in row.points)
    return Record(
        row.id,
        row.visit_id,
        row.product,
        row.lot_number,
        row.expires_on,
        row.dose,
        row.areas,
        row.note,
        row.recorded_by,
        row.recorded_at,
        visit_day,
        points,
    )
