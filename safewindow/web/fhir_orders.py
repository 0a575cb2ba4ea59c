"""FHIR ServiceRequest (read, search): authorized prescribers' client-specific orders (services/orders).

An order is health data, so least privilege: practitioners read every patient's, a patient only their own
(another patient's is 404, as an Appointment is); front desk and clinic admin are refused (403). Every order
returned is written to the audit log, by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from safewindow.clock import DEFAULT_ZONE, clinic_zone
from safewindow.domain.history import clinic_day
from safewindow.services import fhir_orders
from safewindow.services.accounts import User
from safewindow.services.orders import order_of
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, may_see_patient, require, store
from safewindow.web.dependencies import NowDep, knowledge_base
from safewindow.web.fhir_common import (
    FhirError,
    FhirRoute,
    SearchParameters,
    fhir_response,
    id_from_path,
    not_found,
    paged,
    search_answer,
)

router = APIRouter(route_class=FhirRoute)
OrderReader = Annotated[User, Depends(require(Role.PRACTITIONER, Role.PATIENT))]
KIND = "ServiceRequest"


def _orders() -> Select[models.ClientOrder]:
    return select(models.ClientOrder).options(selectinload(models.ClientOrder.prescriber))


@router.get("/ServiceRequest/{ident}")
def read_service_request(request: Request, ident: str, user: OrderReader, at: NowDep) -> Response:
    order_id = id_from_path(ident, KIND)
    with UnitOfWork(store(request), write=True) as uow:
        row = uow.session.scalar(_orders().where(models.ClientOrder.id == order_id))
        if row is None or (user.role is Role.PATIENT and user.patient_id != row.patient_id):
            raise not_found(KIND, ident)
        audit_read(uow.session, user, "client_order", row.id)
        order = order_of(row)
        uow.commit()
    today = clinic_day(at, clinic_zone(DEFAULT_ZONE))
    return fhir_response(fhir_orders.service_request(order, knowledge_base(request), today))


@router.get("/ServiceRequest")
def search_service_requests(request: Request, user: OrderReader, at: NowDep) -> Response:
    """`_id`, `patient` and `status` (active, revoked, completed); newest first."""
    parameters = SearchParameters(request, ("_id", "patient", "status"))
    today = clinic_day(at, clinic_zone(DEFAULT_ZONE))
    query = _orders()
    if (patient_id := parameters.reference("patient", "Patient")) is not None:
        may_see_patient(user, patient_id)
        query = query.where(models.ClientOrder.patient_id == patient_id)
    if user.role is Role.PATIENT:
        query = query.where(models.ClientOrder.patient_id == user.patient_id)
    if (ids := parameters.ids()) is not None:
        query = query.where(models.ClientOrder.id.in_(ids))
    if (statuses := parameters.tokens("status")) is not None:
        unknown = [s for s in statuses if s not in fhir_orders.ORDER_STATUSES]
        if unknown:
            raise FhirError(
                400, "invalid", f"status: {unknown[0]!r} is not one of {', '.join(fhir_orders.ORDER_STATUSES)}"
            )
        query = query.where(or_(*(fhir_orders.status_clause(s, today) for s in statuses)))
    newest_first = query.order_by(models.ClientOrder.written_at.desc(), models.ClientOrder.id.desc())
    with UnitOfWork(store(request), write=True) as uow:
        rows, total, offset = paged(uow.session, newest_first, parameters)
        for row in rows:
            audit_read(uow.session, user, "client_order", row.id)
        orders = [order_of(row) for row in rows]
        uow.commit()
    kb = knowledge_base(request)
    found = [fhir_orders.service_request(order, kb, today) for order in orders]
    return search_answer(request, parameters, found, total=total, offset=offset)
