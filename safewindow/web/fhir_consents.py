"""FHIR Consent (read, search): patients' signatures on clinics' consent forms (services/consents), as built by
services/fhir_consents.

Which treatments a patient consented to is health data, so least privilege, as for prescribers' orders
(fhir_orders): a patient reads only their own (another patient's is 404, as an Appointment is), and practitioners
every patient's, since they confirm consent before they treat. Unlike an order, the front desk reads them too: they
check that a visit's consent is on file before it begins and record the paper forms patients sign. The clinic
administrator does neither, and is refused (403). Every consent returned is written to the audit log, by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from safewindow.clock import clinic_zone
from safewindow.domain.consent import Signature
from safewindow.services import fhir_consents
from safewindow.services.accounts import User
from safewindow.services.consents import signature
from safewindow.services.errors import NotFound
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.consent_models import Consent
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, may_see_patient, require, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.fhir_common import (
    FhirRoute,
    SearchParameters,
    fhir_response,
    id_from_path,
    not_found,
    paged,
    search_answer,
)

router = APIRouter(route_class=FhirRoute)
ConsentReader = Annotated[User, Depends(require(Role.PRACTITIONER, Role.FRONT_DESK, Role.PATIENT))]
KIND = "Consent"


def _zones(session: Session, found: Sequence[Signature]) -> dict[int, ZoneInfo]:
    """Each signature's clinic's zone, by clinic id: times are said on the clinic's clock."""
    clinics = {s.form.clinic_id for s in found}
    rows = session.execute(select(models.Clinic.id, models.Clinic.time_zone).where(models.Clinic.id.in_(clinics)))
    return {clinic_id: clinic_zone(zone) for clinic_id, zone in rows}


@router.get("/Consent/{ident}")
def read_consent(request: Request, ident: str, user: ConsentReader) -> Response:
    consent_id = id_from_path(ident, KIND)
    with UnitOfWork(store(request), write=True) as uow:
        try:
            found = signature(uow.session, consent_id)
        except NotFound:
            raise not_found(KIND, ident) from None
        if user.role is Role.PATIENT and user.patient_id != found.patient_id:
            raise not_found(KIND, ident)
        audit_read(uow.session, user, "consent", found.id)
        zones = _zones(uow.session, [found])
        uow.commit()
    kb = knowledge_base(request)
    return fhir_response(fhir_consents.consent(found, kb, zones[found.form.clinic_id]))


@router.get("/Consent")
def search_consents(request: Request, user: ConsentReader) -> Response:
    """`_id` and `patient`; newest first."""
    parameters = SearchParameters(request, ("_id", "patient"))
    query = select(Consent.id)
    if (patient_id := parameters.reference("patient", "Patient")) is not None:
        may_see_patient(user, patient_id)
        query = query.where(Consent.patient_id == patient_id)
    if user.role is Role.PATIENT:
        query = query.where(Consent.patient_id == user.patient_id)
    if (ids := parameters.ids()) is not None:
        query = query.where(Consent.id.in_(ids))
    newest_first = query.order_by(Consent.signed_at.desc(), Consent.id.desc())
    with UnitOfWork(store(request), write=True) as uow:
        consent_ids, total, offset = paged(uow.session, newest_first, parameters)
        found = [signature(uow.session, consent_id) for consent_id in consent_ids]
        for each in found:
            audit_read(uow.session, user, "consent", each.id)
        zones = _zones(uow.session, found)
        uow.commit()
    kb = knowledge_base(request)
    resources = [fhir_consents.consent(each, kb, zones[each.form.clinic_id]) for each in found]
    return search_answer(request, parameters, resources, total=total, offset=offset)
