"""An authorized prescriber's client-specific order as a FHIR ServiceRequest (intent "order").

The order keeps its database id. It is "active" while in force (not revoked, and its last day, `valid_until`,
not yet past on the clinic's calendar in America/Vancouver), "completed" once that day is past, and "revoked"
once a prescriber revoked it. The days it covers are `occurrencePeriod`, as dates: from the day it was written
to its last day (a FHIR dateTime of day precision means the whole day, so `end` includes the last day).
What was ordered (the note) stays in the chart: no notes leave through FHIR (see fhir_values). Built with the
R4B models."""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.period import Period
from fhir.resources.R4B.servicerequest import ServiceRequest
from sqlalchemy import ColumnElement, and_

from safewindow.clock import DEFAULT_ZONE, clinic_today, clinic_zone
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.fhir_values import local_instant, reference, treatment_concept
from safewindow.services.orders import Order
from safewindow.store import models

ORDER_STATUSES = ("active", "revoked", "completed")


def order_status(order: Order, today: date) -> str:
    if order.revoked_at is not None:
        return "revoked"
    return "active" if order.in_force(today) else "completed"


def status_clause(status: str, today: date) -> ColumnElement[bool]:
    """The orders whose ServiceRequest.status is `status` (one of ORDER_STATUSES) on `today`."""
    row = models.ClientOrder
    return {
        "active": and_(row.revoked_at.is_(None), row.valid_until >= today),
        "completed": and_(row.revoked_at.is_(None), row.valid_until < today),
        "revoked": row.revoked_at.is_not(None),
    }[status]


def service_request(order: Order, kb: KnowledgeBase, today: date | None = None) -> ServiceRequest:
    """The order as a ServiceRequest; `today` (the clinic's, America/Vancouver, by default) sets its status."""
    zone = clinic_zone(DEFAULT_ZONE)
    today = today or clinic_today(zone)
    return ServiceRequest(
        id=str(order.id),
        status=order_status(order, today),
        intent="order",
        code=treatment_concept(kb, order.treatment),
        subject=reference("Patient", order.patient_id),
        requester=reference("Practitioner", order.prescriber_id, order.prescriber),
        occurrencePeriod=Period(start=clinic_day(order.written_at, zone), end=order.valid_until),
        authoredOn=local_instant(order.written_at, zone),
    )
