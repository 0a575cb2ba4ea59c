"""FHIR Appointment (read, search, create) and Procedure (completed visits: read, search).

Both are the patient's chart: a patient sees only their own, staff everyone's; another patient's record is
404; every record returned is written to the audit log. A Procedure says what was given (the visit's treatment
record) only to those who may read records, practitioners and the patient, as the REST API and the chart do, and
each such read is audited as a read of the visit's records. Creating an Appointment is booking: it goes through
services.booking.book, the one use case every channel uses, so the same timing rules and availability checks
refuse an unsafe or impossible visit, answered 409 with an OperationOutcome that lists every reason. A soft
rule's override needs a practitioner's written reason, which this interface does not carry: overrides are
made through the staff tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services import fhir_appointments, fhir_values
from safewindow.services.accounts import User
from safewindow.services.booking import Booked, book
from safewindow.services.treatment_records import Record, records_of_visits
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_records import RECORD_READERS
from safewindow.web.auth import UserDep, audit_read, check_csrf, may_see_patient, store
from safewindow.web.dependencies import NowDep, knowledge_base
from safewindow.web.fhir_common import (
    FhirError,
    FhirRoute,
    SearchParameters,
    base_url,
    fhir_response,
    id_from_path,
    not_found,
    outcome,
    paged,
    search_answer,
)

router = APIRouter(route_class=FhirRoute)
MAX_BODY = 64 * 1024
JSON_TYPES = ("application/fhir+json", "application/json")


def _visits() -> Select[models.Visit]:
    return select(models.Visit).options(
        selectinload(models.Visit.clinic), selectinload(models.Visit.patient), selectinload(models.Visit.practitioner)
    )


def _read(request: Request, ident: str, kind: str, user: Any, completed_only: bool) -> models.Visit:
    """The visit, if the user may see it (and, for a Procedure, it was completed); audited."""
    visit_id = id_from_path(ident, kind)
    with UnitOfWork(store(request), write=True) as uow:
        visit = uow.session.scalar(_visits().where(models.Visit.id == visit_id))
        if visit is None or (completed_only and visit.status is not models.VisitStatus.COMPLETED):
            raise not_found(kind, ident)
        if user.role is Role.PATIENT and user.patient_id != visit.patient_id:
            raise not_found(kind, ident)
        audit_read(uow.session, user, "visit", visit.id)
        uow.commit()
        return visit


def _search(
    request: Request, user: Any, parameters: SearchParameters, query: Select[models.Visit]
) -> tuple[list[models.Visit], int, int]:
    """The filters Appointment and Procedure share: `_id`, `patient`, `practitioner`, `location`, `date`."""
    patient_id = parameters.reference("patient", "Patient")
    if patient_id is not None:
        may_see_patient(user, patient_id)
        query = query.where(models.Visit.patient_id == patient_id)
    if user.role is Role.PATIENT:
        query = query.where(models.Visit.patient_id == user.patient_id)
    if (ids := parameters.ids()) is not None:
        query = query.where(models.Visit.id.in_(ids))
    if (practitioner_id := parameters.reference("practitioner", "Practitioner")) is not None:
        query = query.where(models.Visit.practitioner_id == practitioner_id)
    if (clinic_id := parameters.reference("location", "Location")) is not None:
        query = query.where(models.Visit.clinic_id == clinic_id)
    bounds = parameters.dates("date", clinic_zone(request.app.state.settings.zone))
    if bounds.lower is not None:
        query = query.where(models.Visit.start_at >= bounds.lower)
    if bounds.upper is not None:
        query = query.where(models.Visit.start_at < bounds.upper)
    with UnitOfWork(store(request), write=True) as uow:
        rows, total, offset = paged(uow.session, query.order_by(models.Visit.start_at, models.Visit.id), parameters)
        for visit in rows:
            audit_read(uow.session, user, "visit", visit.id)
        uow.commit()
    return rows, total, offset


SHARED = ("_id", "patient", "practitioner", "location", "date")


@router.get("/Appointment/{ident}")
def read_appointment(request: Request, ident: str, user: UserDep) -> Response:
    visit = _read(request, ident, "Appointment", user, completed_only=False)
    return fhir_response(fhir_appointments.appointment(visit, knowledge_base(request)), headers=_etag(visit))


@router.get("/Appointment")
def search_appointments(request: Request, user: UserDep) -> Response:
    """The shared filters, `status` (booked, fulfilled, cancelled, noshow) and `service-type`."""
    parameters = SearchParameters(request, (*SHARED, "status", "service-type"))
    query = _visits()
    if (statuses := parameters.tokens("status")) is not None:
        unknown = [s for s in statuses if s not in fhir_appointments.VISIT_STATUS]
        if unknown:
            raise FhirError(
                400, "invalid", f"status: {unknown[0]!r} is not one of {', '.join(fhir_appointments.VISIT_STATUS)}"
            )
        query = query.where(models.Visit.status.in_([fhir_appointments.VISIT_STATUS[s] for s in statuses]))
    if (codes := parameters.tokens("service-type", fhir_values.TREATMENT_SYSTEM)) is not None:
        query = query.where(models.Visit.treatment_slug.in_(codes))
    rows, total, offset = _search(request, user, parameters, query)
    kb = knowledge_base(request)
    return search_answer(
        request, parameters, [fhir_appointments.appointment(v, kb) for v in rows], total=total, offset=offset
    )


@router.get("/Procedure/{ident}")
def read_procedure(request: Request, ident: str, user: UserDep) -> Response:
    visit = _read(request, ident, "Procedure", user, completed_only=True)
    record = _records(request, user, [visit]).get(visit.id)
    found = fhir_appointments.procedure(visit, knowledge_base(request), record)
    return fhir_response(found, headers=_etag(visit, record))


@router.get("/Procedure")
def search_procedures(request: Request, user: UserDep) -> Response:
    """The shared filters and `code` (a treatment): completed visits only."""
    parameters = SearchParameters(request, (*SHARED, "code"))
    query = _visits().where(models.Visit.status == models.VisitStatus.COMPLETED)
    if (codes := parameters.tokens("code", fhir_values.TREATMENT_SYSTEM)) is not None:
        query = query.where(models.Visit.treatment_slug.in_(codes))
    rows, total, offset = _search(request, user, parameters, query)
    kb, records = knowledge_base(request), _records(request, user, rows)
    found = [fhir_appointments.procedure(v, kb, records.get(v.id)) for v in rows]
    return search_answer(request, parameters, found, total=total, offset=offset)


def _records(request: Request, user: User, visits: Sequence[models.Visit]) -> dict[int, Record]:
    """Each visit's current record, for a user who may read records; none for the others."""
    if user.role not in RECORD_READERS or not visits:
        return {}
    with UnitOfWork(store(request), write=True) as uow:
        found = {visit: records[0] for visit, records in records_of_visits(uow.session, (v.id for v in visits)).items()}
        for visit_id in found:
            audit_read(uow.session, user, "visit-records", visit_id)
        uow.commit()
    return found


def _etag(visit: models.Visit, record: Record | None = None) -> dict[str, str]:
    return {"ETag": f'W/"{fhir_appointments.version_of(visit, record)}"'}


async def _appointment_from(request: Request) -> Appointment:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        raise FhirError(415, "not-supported", "send the Appointment as application/fhir+json")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise FhirError(413, "too-long", f"an Appointment is at most {MAX_BODY // 1024} KiB")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FhirError(400, "structure", "the body is not JSON") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Appointment":
        raise FhirError(400, "structure", 'the body must be an Appointment ("resourceType": "Appointment")')
    try:
        return Appointment.model_validate(data)
    except ValidationError as error:
        issues = []
        for problem in error.errors():
            where = "Appointment." + ".".join(str(part) for part in problem.get("loc", ()))
            issues.append(fhir_values.Issue("structure", f"{where}: {problem.get('msg')}", expression=where))
        first, *more = issues
        raise FhirError(400, first.code, first.diagnostics, first.expression, more) from None


def _booked(request: Request, booked: Booked, kb: KnowledgeBase) -> tuple[Resource, models.Visit]:
    with UnitOfWork(store(request)) as uow:
        visit = uow.session.scalar(_visits().where(models.Visit.id == booked.visit.id))
        assert visit is not None
        return fhir_appointments.appointment(visit, kb), visit


@router.post("/Appointment", status_code=201)
async def create_appointment(request: Request, user: UserDep, at: NowDep) -> Response:
    """Book the visit the Appointment describes; `Prefer: return=minimal | representation | OperationOutcome`."""
    check_csrf(request, user)
    kb = knowledge_base(request)
    wanted = fhir_appointments.booking_request(await _appointment_from(request), kb)
    may_see_patient(user, wanted.patient_id)
    booked = await run_in_threadpool(
        lambda: book(
            store(request),
            kb,
            patient_id=wanted.patient_id,
            treatment=wanted.treatment,
            clinic_id=wanted.clinic_id,
            start=wanted.start,
            practitioner_id=wanted.practitioner_id,
            actor=user.actor,
            now=at,
        )
    )
    resource, visit = await run_in_threadpool(_booked, request, booked, kb)
    headers = {**_etag(visit), "Location": f"{base_url(request)}/Appointment/{visit.id}/_history/{visit.version}"}
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    if "return=minimal" in prefer:
        return Response(status_code=201, headers=headers)
    if "return=operationoutcome" in prefer:
        issues = [fhir_values.Issue("informational", f"Booked: Appointment/{visit.id}.", severity="information")]
        issues += [
            fhir_values.Issue("informational", w.message, severity="warning", detail_code=w.rule)
            for w in booked.warnings
        ]
        return outcome(201, issues, headers)
    return fhir_response(resource, 201, headers)
