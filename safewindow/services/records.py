"""The clinic's records as rows: the JSON the CLI prints with --json and the API returns, built in one place so
both say exactly the same thing. Also the patient's chart, full or limited, and recording a personal factor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.advice import check_factors
from safewindow.services.booking import Booked
from safewindow.services.clinic_setup import on_order_of, permissions_of
from safewindow.services.errors import InputError, NotFound
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork


def clinic_row(clinic: models.Clinic) -> dict[str, Any]:
    return {
        "id": clinic.id,
        "slug": clinic.slug,
        "name": clinic.name,
        "address": clinic.address,
        "phone": clinic.phone,
        "time_zone": clinic.time_zone,
        "open_on_holidays": clinic.open_on_holidays,
    }


def clinic_rows(session: Session) -> list[dict[str, Any]]:
    return [clinic_row(c) for c in session.scalars(select(models.Clinic).order_by(models.Clinic.id))]


def practitioner_row(practitioner: models.Practitioner) -> dict[str, Any]:
    return {
        "id": practitioner.id,
        "name": practitioner.name,
        "qualifications": sorted(q.id for q in practitioner.qualifications),
        "permissions": sorted(permissions_of(practitioner)),
        "on_order": sorted(on_order_of(practitioner)),  # only on a prescriber's order for the patient
    }


def practitioner_rows(session: Session, clinic_id: int) -> list[dict[str, Any]]:
    """Everyone with working hours at the clinic, by id; NotFound for an unknown clinic."""
    if session.get(models.Clinic, clinic_id) is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    query = (
        select(models.Practitioner)
        .join(models.PractitionerHours)
        .where(models.PractitionerHours.clinic_id == clinic_id)
        .options(selectinload(models.Practitioner.qualifications).selectinload(models.Qualification.grants))
        .distinct()
        .order_by(models.Practitioner.id)
    )
    return [practitioner_row(p) for p in session.scalars(query)]


def patient_row(patient: models.Patient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "name": patient.name,
        "birth_date": patient.birth_date.isoformat(),
        "email": patient.email or None,
    }


def visit_row(visit: models.Visit, zone_name: str) -> dict[str, Any]:
    """Times in the clinic's local time, with their UTC offset; the deposit asked when it was booked, in cents."""
    zone = clinic_zone(zone_name)
    return {
        "id": visit.id,
        "patient": visit.patient_id,
        "treatment": visit.treatment_slug,
        "clinic": visit.clinic_id,
        "practitioner": visit.practitioner_id,
        "room": visit.room_id,
        "device": visit.device_id,
        "start": visit.start_at.astimezone(zone).isoformat(),
        "end": visit.end_at.astimezone(zone).isoformat(),
        "area": visit.area,
        "status": str(visit.status),
        "deposit_cents": visit.deposit_cents,
    }


def visit_rows(session: Session, patient_id: int) -> list[dict[str, Any]]:
    """A patient's visits, done, booked and cancelled, earliest first; NotFound for an unknown patient."""
    if session.get(models.Patient, patient_id) is None:
        raise NotFound("patient", f"no patient {patient_id}")
    found = session.execute(
        select(models.Visit, models.Clinic.time_zone)
        .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
        .where(models.Visit.patient_id == patient_id)
        .order_by(models.Visit.start_at)
    )
    return [visit_row(visit, zone) for visit, zone in found]


def booked_row(result: Booked) -> dict[str, Any]:
    """A booked or moved visit, with the warnings that make it less than ideal and the rules overridden."""
    row = visit_row(result.visit, result.zone.key)
    row["warnings"] = [w.as_dict() for w in result.warnings]
    row["overrides"] = list(result.overridden)
    return row


def cancelled_row(visit: models.Visit) -> dict[str, Any]:
    return {"id": visit.id, "status": str(visit.status)}


def factor_row(factor: models.PatientFactor) -> dict[str, Any]:
    return {
        "id": factor.id,
        "factor": factor.factor_id,
        "recorded_at": factor.recorded_at.isoformat(),
        "recorded_by": factor.recorded_by,
        "active": factor.active,
    }


def _patient(session: Session, patient_id: int) -> models.Patient:
    patient = session.get(models.Patient, patient_id)
    if patient is None:
        raise NotFound("patient", f"no patient {patient_id}")
    return patient


def chart_warnings(patient: models.Patient) -> list[dict[str, str]]:
    """What anyone at the desk needs to know before booking, without a word of health data."""
    warnings = []
    if any(f.active for f in patient.factors):
        warnings.append(
            {
                "code": "factors-on-file",
                "message": "Personal factors on file change what may be booked and when; every booking is checked "
                "against them. A practitioner sees the details.",
            }
        )
    if not patient.email:
        warnings.append(
            {"code": "no-email", "message": "No e-mail address on file: confirmations and reminders cannot be sent."}
        )
    return warnings


def chart(session: Session, patient_id: int, *, full: bool) -> dict[str, Any]:
    """The patient's chart. The limited chart (front desk, clinic administrator) holds who they are, how to
    reach them, their visits here and the warnings; the full chart (practitioners, the patient themselves) adds
    their active personal factors and the treatments they reported having had elsewhere."""
    patient = _patient(session, patient_id)
    result: dict[str, Any] = {
        "chart": "full" if full else "limited",
        **patient_row(patient),
        "phone": patient.phone,
    }
    if full:
        result["factors"] = [factor_row(f) for f in sorted(patient.factors, key=lambda f: f.id) if f.active]
        prior = session.scalars(
            select(models.PriorTreatment)
            .where(models.PriorTreatment.patient_id == patient_id)
            .order_by(models.PriorTreatment.day, models.PriorTreatment.id)
        )
        result["prior_treatments"] = [
            {"treatment": p.treatment_slug, "day": p.day.isoformat(), "area": p.area} for p in prior
        ]
    result["visits"] = visit_rows(session, patient_id)
    result["warnings"] = chart_warnings(patient)
    return result


def factor_rows(session: Session, patient_id: int) -> list[dict[str, Any]]:
    """Every factor ever recorded for the patient, active and resolved, in the order recorded."""
    return [factor_row(f) for f in sorted(_patient(session, patient_id).factors, key=lambda f: f.id)]


def record_factor(
    session_factory: sessionmaker[Session], kb: KnowledgeBase, *, patient_id: int, factor: str, actor: str
) -> dict[str, Any]:
    """Record a personal factor (a knowledge-base factor id) for the patient; audited by id only."""
    chosen = check_factors([factor], kb)
    if len(chosen) != 1:
        raise InputError("factor", "record one factor at a time")
    factor_id = chosen[0]
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        patient = session.get(models.Patient, patient_id, with_for_update=True)  # the lock every booking takes
        if patient is None:
            raise NotFound("patient", f"no patient {patient_id}")
        if any(f.active and f.factor_id == factor_id for f in patient.factors):
            raise InputError("factor", f"{factor_id} is on file already")
        row = models.PatientFactor(factor_id=factor_id, recorded_by=actor)
        patient.factors.append(row)
        session.flush()
        # The factor's id stays out of the audit log: which factor a patient has is health data.
        session.add(
            models.AuditEntry(
                actor=actor, action="patient.factor-recorded", entity="patient", entity_id=str(patient_id), detail={}
            )
        )
        uow.commit()
        return factor_row(row)
