"""Patients: minimal personal data (BC PIPA: collect only what is needed), factors, prior treatments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.advice import check_factors, parse_day, parse_history
from safewindow.services.errors import InputError
from safewindow.services.phone_numbers import mobile_number
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork


def add_patient(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    name: str,
    birth_date: str,
    actor: str,
    today: date,
    email: str | None = None,
    phone: str | None = None,
    factors: Iterable[str] = (),
    history: Iterable[str] = (),
) -> models.Patient:
    """Validate everything first, then write it all in one transaction: never half a patient."""
    name = name.strip()
    if not name:
        raise InputError("name", "a name is needed")
    born = parse_day(birth_date, "birth-date")
    if born >= today:
        raise InputError("birth-date", f"{born} is not in the past")
    email = (email or "").strip()
    if email and ("@" not in email or email.startswith("@") or email.endswith("@") or " " in email):
        raise InputError("email", f"{email!r} is not an e-mail address")
    number = mobile_number(phone) if phone and phone.strip() else None  # for text reminders, if they ask
    chosen = check_factors(factors, kb)
    prior = parse_history(history, kb)
    for visit in prior:
        if visit.day > today:
            raise InputError("history", f"{visit.treatment}@{visit.day} is in the future; book it instead")
    with UnitOfWork(session_factory, write=True) as uow:
        patient = models.Patient(name=name, birth_date=born, email=email, phone=number)
        patient.factors = [models.PatientFactor(factor_id=f, recorded_by=actor) for f in dict.fromkeys(chosen)]
        uow.session.add(patient)
        uow.session.flush()
        for visit in prior:
            uow.session.add(
                models.PriorTreatment(
                    patient_id=patient.id,
                    treatment_slug=visit.treatment,
                    day=visit.day,
                    area=visit.area,
                    recorded_by=actor,
                )
            )
        uow.session.add(
            models.AuditEntry(
                actor=actor, action="patient.created", entity="patient", entity_id=str(patient.id), detail={}
            )
        )
        uow.commit()
        return patient


def find_patients(session: Session, text: str = "", *, limit: int | None, offset: int = 0) -> list[models.Patient]:
    """Patients by name, then number: those whose name or e-mail holds `text` in any case, or whose patient
    number it is; everyone when it is empty. A page of `limit` from `offset` (all with None: the command line
    lists them all); the front desk looks a patient up while they wait, so the web never sends thousands."""
    query = select(models.Patient).order_by(models.Patient.name, models.Patient.id).limit(limit).offset(offset)
    text = text.strip()
    if not text:
        return list(session.scalars(query))
    typed = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")  # typed text, not a pattern
    pattern = f"%{typed}%"
    matches: list[ColumnElement[bool]] = [
        models.Patient.name.ilike(pattern, escape="\\"),
        models.Patient.email.ilike(pattern, escape="\\"),
    ]
    if text.isdigit() and len(text) <= 9:
        matches.append(models.Patient.id == int(text))
    return list(session.scalars(query.where(or_(*matches))))
