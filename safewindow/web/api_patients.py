"""Patients over the API (BC PIPA: least privilege, every read of a chart accounted for).

| who                       | list, add | chart                     | factors: read, record | visits |
|---------------------------|-----------|---------------------------|-----------------------|--------|
| practitioner              | yes       | full                      | yes, yes              | yes    |
| front desk, clinic admin  | yes       | limited                   | no (403)              | yes    |
| the patient themselves    | no (403)  | full (their own)          | yes, yes (their own)  | yes    |
| another patient           | no (403)  | 404                       | 404                   | 404    |

The limited chart is who the patient is and how to reach them (name, birth date, e-mail, phone), their visits
here, and warnings that carry no health data (`factors-on-file`: factors change what may be booked, ask a
practitioner; `no-email`). It leaves out their personal factors and the treatments they reported having had
elsewhere; the full chart adds both. Staff adding a patient may record treatments had elsewhere; only a
practitioner may record factors while doing so (403 for others). Every read is audited by ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from safewindow.clock import clinic_today, clinic_zone
from safewindow.services.accounts import User
from safewindow.services.errors import InputError
from safewindow.services.patients import add_patient, find_patients
from safewindow.services.records import chart, factor_rows, patient_row, record_factor, visit_rows
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import (
    ALLOWED,
    NOT_FOUND,
    SIGNED_IN,
    WITH_BODY,
    Id,
    changer,
    found_by_path,
    may_see,
    text,
)
from safewindow.web.api_visits import VisitRow
from safewindow.web.auth import STAFF, StaffDep, UserDep, audit_read, require, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.settings import WebSettings

router = APIRouter(
    prefix="/api/v1", tags=["patients"], responses={422: {"model": Problems, "description": "Bad input"}}
)
StaffChanger = Annotated[User, Depends(changer(*STAFF))]
FactorReader = Annotated[User, Depends(require(Role.PRACTITIONER, Role.PATIENT))]
FactorWriter = Annotated[User, Depends(changer(Role.PRACTITIONER, Role.PATIENT))]


class PatientRow(Shape):
    id: int
    name: str
    birth_date: date
    email: str | None


class PatientIn(Shape):
    name: Annotated[str, text(200, 1)]
    birth_date: Annotated[str, text(10, 1), Field(description="YYYY-MM-DD.")]
    email: Annotated[str, text(254)] | None = None
    phone: Annotated[str, text(32)] | None = Field(
        default=None, description="A mobile number as people write it, for text reminders if the patient asks."
    )
    factors: Annotated[list[Annotated[str, text(64, 1)]], Field(max_length=20)] = Field(
        default_factory=list, description="Personal factor ids (practitioners only)."
    )
    history: Annotated[list[Annotated[str, text(200, 1)]], Field(max_length=50)] = Field(
        default_factory=list, description="Treatments had elsewhere, SLUG@YYYY-MM-DD."
    )


class FactorRecord(Shape):
    id: int
    factor: str
    recorded_at: str
    recorded_by: str
    active: bool


class FactorIn(Shape):
    factor: Annotated[str, text(64, 1), Field(description="A factor id from /api/v1/factors.")]


class ChartWarning(Shape):
    code: str
    message: str


class PriorTreatment(Shape):
    treatment: str
    day: date
    area: str


class LimitedChart(Shape):
    chart: Literal["limited"]
    id: int
    name: str
    birth_date: date
    email: str | None
    phone: str | None
    visits: list[VisitRow]
    warnings: list[ChartWarning]


class FullChart(Shape):
    chart: Literal["full"]
    id: int
    name: str
    birth_date: date
    email: str | None
    phone: str | None
    factors: list[FactorRecord]
    prior_treatments: list[PriorTreatment]
    visits: list[VisitRow]
    warnings: list[ChartWarning]


@router.get(
    "/patients",
    response_model=list[PatientRow],
    responses=ALLOWED,
    summary="The patients by name, a page at a time (staff)",
)
def patients(
    request: Request,
    user: StaffDep,
    q: Annotated[str, Query(max_length=100, description="Part of a name or e-mail, or a patient number.")] = "",
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many: the next page.")] = 0,
) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow:
        rows = [patient_row(p) for p in find_patients(uow.session, q, limit=limit, offset=offset)]
        audit_read(uow.session, user, "patients", "search" if q.strip() else "all")  # never the typed text
        uow.commit()
    return JSONResponse(rows)


@router.post(
    "/patients",
    status_code=201,
    response_model=PatientRow,
    responses={**WITH_BODY, **ALLOWED},
    summary="Add a patient (staff)",
)
def add(request: Request, body: PatientIn, user: StaffChanger) -> JSONResponse:
    if body.factors and user.role is not Role.PRACTITIONER:
        raise HTTPException(403, detail=[{"field": "factors", "problem": "only a practitioner records factors"}])
    settings: WebSettings = request.app.state.settings
    try:
        patient = add_patient(
            store(request),
            knowledge_base(request),
            name=body.name,
            birth_date=body.birth_date,
            email=body.email,
            phone=body.phone,
            factors=body.factors,
            history=body.history,
            actor=user.actor,
            today=clinic_today(clinic_zone(settings.zone)),
        )
    except InputError as error:  # the service names fields as the CLI's options
        raise InputError(error.field.replace("-", "_"), error.problem) from None
    return JSONResponse(patient_row(patient), status_code=201)


@router.get(
    "/patients/{patient_id}",
    response_model=FullChart | LimitedChart,
    responses={**SIGNED_IN, **NOT_FOUND},
    summary="A patient's chart: full for practitioners and the patient, limited for the front desk and admin",
)
def one_patient(request: Request, patient_id: Id, user: UserDep) -> JSONResponse:
    full = user.role in (Role.PRACTITIONER, Role.PATIENT)
    return _audited_read(request, user, patient_id, "patient", lambda session: chart(session, patient_id, full=full))


def _audited_read(
    request: Request, user: User, patient_id: int, entity: str, read: Callable[[Session], object]
) -> JSONResponse:
    """One part of a patient's record, if this user may see it, with the read in the audit log (BC PIPA), in
    one transaction: the log holds every read that was answered."""
    may_see(user, patient_id)
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        found = read(uow.session)
        audit_read(uow.session, user, entity, patient_id)
        uow.commit()
    return JSONResponse(found)


@router.get(
    "/patients/{patient_id}/factors",
    response_model=list[FactorRecord],
    responses={**ALLOWED, **NOT_FOUND},
    summary="Personal factors recorded, active and resolved (practitioners and the patient)",
)
def factors(request: Request, patient_id: Id, user: FactorReader) -> JSONResponse:
    return _audited_read(request, user, patient_id, "patient-factors", lambda session: factor_rows(session, patient_id))


@router.post(
    "/patients/{patient_id}/factors",
    status_code=201,
    response_model=FactorRecord,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND},
    summary="Record a personal factor (practitioners and the patient)",
)
def add_factor(request: Request, patient_id: Id, body: FactorIn, user: FactorWriter) -> JSONResponse:
    may_see(user, patient_id)
    with found_by_path():
        row = record_factor(
            store(request), knowledge_base(request), patient_id=patient_id, factor=body.factor, actor=user.actor
        )
    return JSONResponse(row, status_code=201)


@router.get(
    "/patients/{patient_id}/visits",
    response_model=list[VisitRow],
    responses={**SIGNED_IN, **NOT_FOUND},
    summary="A patient's visits, done, booked and cancelled",
)
def visits(request: Request, patient_id: Id, user: UserDep) -> JSONResponse:
    return _audited_read(request, user, patient_id, "patient-visits", lambda session: visit_rows(session, patient_id))
