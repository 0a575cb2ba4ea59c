"""FHIR Patient, Practitioner, PractitionerRole, Location and HealthcareService: read and search.

Locations (clinics) and HealthcareServices (what a clinic offers) are public, as on a clinic's website.
Practitioners and their roles need a signed-in user. A Patient is a chart: a patient sees only their own
(another's is 404), staff see every patient, and every Patient returned is written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request, Response
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services import fhir_people, fhir_values
from safewindow.services.clinic_setup import on_order_of, permissions_of
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import UserDep, audit_read, may_see_patient, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.fhir_common import (
    FhirError,
    FhirRoute,
    SearchParameters,
    fhir_response,
    id_from_path,
    not_found,
    paged,
    search_answer,
    words_start_with,
)

router = APIRouter(route_class=FhirRoute)


# --- Patient -------------------------------------------------------------------------------------------------


@router.get("/Patient/{ident}")
def read_patient(request: Request, ident: str, user: UserDep) -> Response:
    patient_id = id_from_path(ident, "Patient")
    may_see_patient(user, patient_id)
    with UnitOfWork(store(request), write=True) as uow:
        row = uow.session.get(models.Patient, patient_id)
        if row is None:
            raise not_found("Patient", ident)
        audit_read(uow.session, user, "patient", row.id)
        resource = fhir_people.patient(row)
        uow.commit()
    return fhir_response(resource)


@router.get("/Patient")
def search_patients(request: Request, user: UserDep) -> Response:
    """`_id`, `name` (any word starts with it), `birthdate` (YYYY-MM-DD). A patient finds only themselves."""
    parameters = SearchParameters(request, ("_id", "name", "birthdate"))
    query = select(models.Patient).order_by(models.Patient.id)
    if user.role is Role.PATIENT:
        query = query.where(models.Patient.id == user.patient_id)
    if (ids := parameters.ids()) is not None:
        query = query.where(models.Patient.id.in_(ids))
    if (name := parameters.one("name")) is not None:
        query = query.where(words_start_with(models.Patient.name, name))
    if (born := parameters.one("birthdate")) is not None:
        try:
            query = query.where(models.Patient.birth_date == date.fromisoformat(born))
        except ValueError:
            raise FhirError(400, "invalid", f"birthdate: {born!r} is not a date such as 1990-05-05") from None
    with UnitOfWork(store(request), write=True) as uow:
        rows, total, offset = paged(uow.session, query, parameters)
        for row in rows:
            audit_read(uow.session, user, "patient", row.id)
        resources = [fhir_people.patient(row) for row in rows]
        uow.commit()
    return search_answer(request, parameters, resources, total=total, offset=offset)


# --- Practitioner --------------------------------------------------------------------------------------------


@router.get("/Practitioner/{ident}")
def read_practitioner(request: Request, ident: str, user: UserDep) -> Response:
    with UnitOfWork(store(request)) as uow:
        row = uow.session.get(models.Practitioner, id_from_path(ident, "Practitioner"))
        if row is None:
            raise not_found("Practitioner", ident)
        return fhir_response(fhir_people.practitioner(row))


@router.get("/Practitioner")
def search_practitioners(request: Request, user: UserDep) -> Response:
    """`_id`, `name`, `active`."""
    parameters = SearchParameters(request, ("_id", "name", "active"))
    query = (
        select(models.Practitioner)
        .options(selectinload(models.Practitioner.qualifications))
        .order_by(models.Practitioner.id)
    )
    if (ids := parameters.ids()) is not None:
        query = query.where(models.Practitioner.id.in_(ids))
    if (name := parameters.one("name")) is not None:
        query = query.where(words_start_with(models.Practitioner.name, name))
    if (active := parameters.one("active")) is not None:
        if active not in ("true", "false"):
            raise FhirError(400, "invalid", "active must be true or false")
        query = query.where(models.Practitioner.active.is_(active == "true"))
    with UnitOfWork(store(request)) as uow:
        rows, total, offset = paged(uow.session, query, parameters)
        resources = [fhir_people.practitioner(row) for row in rows]
    return search_answer(request, parameters, resources, total=total, offset=offset)


# --- PractitionerRole (and, in fhir_scheduling, Schedule): a practitioner at a clinic ----------------------


@dataclass(frozen=True)
class Staffing:
    practitioner: models.Practitioner
    clinic: models.Clinic
    offers: tuple[models.ClinicTreatment, ...]  # what the clinic offers that the practitioner may do


def roles(session: Session, practitioner_id: int | None = None, clinic_id: int | None = None) -> list[Staffing]:
    """Every practitioner with working hours at a clinic, by practitioner then clinic."""
    pairs = select(models.PractitionerHours.practitioner_id, models.PractitionerHours.clinic_id).distinct()
    if practitioner_id is not None:
        pairs = pairs.where(models.PractitionerHours.practitioner_id == practitioner_id)
    if clinic_id is not None:
        pairs = pairs.where(models.PractitionerHours.clinic_id == clinic_id)
    found = sorted((int(p), int(c)) for p, c in session.execute(pairs))
    if not found:
        return []
    practitioners = {
        p.id: p
        for p in session.scalars(
            select(models.Practitioner)
            .where(models.Practitioner.id.in_({p for p, _ in found}))
            .options(
                selectinload(models.Practitioner.hours),
                selectinload(models.Practitioner.qualifications).selectinload(models.Qualification.grants),
            )
        )
    }
    clinics = {
        c.id: c
        for c in session.scalars(
            select(models.Clinic)
            .where(models.Clinic.id.in_({c for _, c in found}))
            .options(selectinload(models.Clinic.treatments))
        )
    }
    result = []
    for p, c in found:
        # What they offer, on a prescriber's order for the patient or in their own right.
        permissions = permissions_of(practitioners[p]) | on_order_of(practitioners[p])
        offers = tuple(
            t
            for t in sorted(clinics[c].treatments, key=lambda t: t.id)
            if t.active and (t.required_permission_id is None or t.required_permission_id in permissions)
        )
        result.append(Staffing(practitioners[p], clinics[c], offers))
    return result


def role_or_404(session: Session, ident: str, kind: str) -> Staffing:
    parsed = fhir_people.parse_role_id(ident)
    found = roles(session, *parsed) if parsed else []
    if not found:
        raise not_found(kind, ident)
    return found[0]


@router.get("/PractitionerRole/{ident}")
def read_practitioner_role(request: Request, ident: str, user: UserDep) -> Response:
    with UnitOfWork(store(request)) as uow:
        role = role_or_404(uow.session, ident, "PractitionerRole")
        return fhir_response(fhir_people.practitioner_role(role.practitioner, role.clinic, role.offers))


@router.get("/PractitionerRole")
def search_practitioner_roles(request: Request, user: UserDep) -> Response:
    """`practitioner`, `location`."""
    parameters = SearchParameters(request, ("practitioner", "location"))
    count, offset = parameters.count(), parameters.offset()
    with UnitOfWork(store(request)) as uow:
        practitioner_id = parameters.reference("practitioner", "Practitioner")
        found = roles(uow.session, practitioner_id, parameters.reference("location", "Location"))
        page = found[offset : offset + count]
        resources = [fhir_people.practitioner_role(r.practitioner, r.clinic, r.offers) for r in page]
    return search_answer(request, parameters, resources, total=len(found), offset=offset)


# --- Location and HealthcareService (public) ----------------------------------------------------------------


@router.get("/Location/{ident}")
def read_location(request: Request, ident: str) -> Response:
    with UnitOfWork(store(request)) as uow:
        row = uow.session.get(models.Clinic, id_from_path(ident, "Location"))
        if row is None:
            raise not_found("Location", ident)
        return fhir_response(fhir_people.location(row))


@router.get("/Location")
def search_locations(request: Request) -> Response:
    """`_id`, `name`."""
    parameters = SearchParameters(request, ("_id", "name"))
    query = select(models.Clinic).options(selectinload(models.Clinic.hours)).order_by(models.Clinic.id)
    if (ids := parameters.ids()) is not None:
        query = query.where(models.Clinic.id.in_(ids))
    if (name := parameters.one("name")) is not None:
        query = query.where(words_start_with(models.Clinic.name, name))
    with UnitOfWork(store(request)) as uow:
        rows, total, offset = paged(uow.session, query, parameters)
        resources = [fhir_people.location(row) for row in rows]
    return search_answer(request, parameters, resources, total=total, offset=offset)


def _service(kb: KnowledgeBase, row: models.ClinicTreatment) -> Resource:
    return fhir_people.healthcare_service(row, row.clinic, kb)


@router.get("/HealthcareService/{ident}")
def read_healthcare_service(request: Request, ident: str) -> Response:
    with UnitOfWork(store(request)) as uow:
        row = uow.session.get(models.ClinicTreatment, id_from_path(ident, "HealthcareService"))
        if row is None:
            raise not_found("HealthcareService", ident)
        return fhir_response(_service(knowledge_base(request), row))


@router.get("/HealthcareService")
def search_healthcare_services(request: Request) -> Response:
    """`_id`, `location`, `service-type` (a treatment slug), `active`."""
    parameters = SearchParameters(request, ("_id", "location", "service-type", "active"))
    query = (
        select(models.ClinicTreatment)
        .options(selectinload(models.ClinicTreatment.clinic))
        .order_by(models.ClinicTreatment.id)
    )
    if (ids := parameters.ids()) is not None:
        query = query.where(models.ClinicTreatment.id.in_(ids))
    if (clinic_id := parameters.reference("location", "Location")) is not None:
        query = query.where(models.ClinicTreatment.clinic_id == clinic_id)
    if (codes := parameters.tokens("service-type", fhir_values.TREATMENT_SYSTEM)) is not None:
        query = query.where(models.ClinicTreatment.treatment_slug.in_(codes))
    if (active := parameters.one("active")) is not None:
        if active not in ("true", "false"):
            raise FhirError(400, "invalid", "active must be true or false")
        query = query.where(models.ClinicTreatment.active.is_(active == "true"))
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        rows, total, offset = paged(uow.session, query, parameters)
        resources = [_service(kb, row) for row in rows]
    return search_answer(request, parameters, resources, total=total, offset=offset)
