"""FHIR Schedule and Slot: a practitioner's diary at a clinic, and the free times in it.

Slots are computed, never stored: the same pipeline as every other channel (services.slots.find_slots_for),
so a slot offered here is one the booking would take. With `patient=ID` the search is rule-aware: only slots
on days the patient's history allows, each marked ideal or allowed (and why). That reads the patient's chart,
so it follows the chart's rules: the patient themselves or staff, and an entry in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select

from safewindow.clock import clinic_zone
from safewindow.domain.history import clinic_day
from safewindow.services import fhir_people, fhir_schedule, fhir_values
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import InputError
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import UserDep, audit_read, may_see_patient, store
from safewindow.web.dependencies import NowDep, knowledge_base
from safewindow.web.fhir_common import (
    FhirError,
    FhirRoute,
    SearchParameters,
    fhir_response,
    not_found,
    search_answer,
)
from safewindow.web.fhir_directory import Staffing, role_or_404, roles

router = APIRouter(route_class=FhirRoute)
DEFAULT_SLOT_DAYS, MAX_SLOT_DAYS = 30, 92
DEFAULT_SLOTS, MAX_SLOTS = 20, 100
WIDE_LIMIT = 200  # more slots looked at when the search starts within a day, so the page is still full


def _schedule(staffing: Staffing, request: Request, at: datetime) -> Resource:
    clinic = staffing.clinic
    zone = clinic_zone(clinic.time_zone)
    horizon = timedelta(days=clinic.policy.horizon_days if clinic.policy else 90)
    period = Period(start=at.astimezone(zone), end=(at + horizon).astimezone(zone))
    slugs = [offer.treatment_slug for offer in staffing.offers]
    return fhir_schedule.schedule(staffing.practitioner, clinic, slugs, knowledge_base(request), period)


@router.get("/Schedule/{ident}")
def read_schedule(request: Request, ident: str, user: UserDep, at: NowDep) -> Response:
    with UnitOfWork(store(request)) as uow:
        return fhir_response(_schedule(role_or_404(uow.session, ident, "Schedule"), request, at))


@router.get("/Schedule")
def search_schedules(request: Request, user: UserDep, at: NowDep) -> Response:
    """`actor` (Practitioner/ID or Location/ID), `service-type`."""
    parameters = SearchParameters(request, ("actor", "service-type"))
    actor = parameters.one("actor") or ""
    practitioner_id = parameters.reference("actor", "Practitioner") if "Location" not in actor else None
    clinic_id = parameters.reference("actor", "Location") if "Location" in actor else None
    codes = parameters.tokens("service-type", fhir_values.TREATMENT_SYSTEM)
    count, offset = parameters.count(), parameters.offset()
    with UnitOfWork(store(request)) as uow:
        found = [
            s
            for s in roles(uow.session, practitioner_id, clinic_id)
            if codes is None or any(offer.treatment_slug in codes for offer in s.offers)
        ]
        resources = [_schedule(s, request, at) for s in found[offset : offset + count]]
    return search_answer(request, parameters, resources, total=len(found), offset=offset)


@router.get("/Slot/{ident}")
def read_slot(request: Request, ident: str, user: UserDep, at: NowDep) -> Response:
    """Free if the slot is still offered, busy if it was taken or has passed."""
    key = fhir_schedule.parse_slot_id(ident)
    if key is None:
        raise not_found("Slot", ident)
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        offer = uow.session.scalar(
            select(models.ClinicTreatment).where(
                models.ClinicTreatment.clinic_id == key.clinic_id,
                models.ClinicTreatment.treatment_slug == key.treatment,
            )
        )
        if offer is None or key.treatment not in kb.treatments:
            raise not_found("Slot", ident)
        zone = clinic_zone(offer.clinic.time_zone)
        duration = timedelta(minutes=offer.duration_minutes)
    try:
        offered = find_slots_for(
            store(request),
            kb,
            treatment=key.treatment,
            clinic_id=key.clinic_id,
            practitioner_id=key.practitioner_id,
            first_day=clinic_day(key.start, zone),
            days=1,
            limit=WIDE_LIMIT * 5,
            now=at,
        )
    except InputError:  # the practitioner does not work there, or may not do it: no such slot
        raise not_found("Slot", ident) from None
    match = next((o for o in offered if o.slot.start == key.start), None)
    if match is not None:
        return fhir_response(fhir_schedule.slot(match, key.clinic_id, key.treatment, kb))
    return fhir_response(fhir_schedule.busy_slot(key, key.start + duration, zone, kb))


def _where(parameters: SearchParameters) -> tuple[int, int | None]:
    """The clinic, and the practitioner if a Schedule was named."""
    named = parameters.one("schedule")
    if named is not None:
        parsed = fhir_people.parse_role_id(named.rsplit("Schedule/", 1)[-1])
        if parsed is None:
            raise FhirError(400, "invalid", f"schedule: {named!r} is not a Schedule such as Schedule/1-1")
        return parsed[1], parsed[0]
    clinic_id = parameters.reference("location", "Location")
    if clinic_id is None:
        raise FhirError(400, "required", "give schedule=Schedule/ID or location=Location/ID")
    return clinic_id, None


@router.get("/Slot")
def search_slots(request: Request, user: UserDep, at: NowDep) -> Response:
    """`service-type` (one treatment), `schedule` or `location`, `start` (eq, ge, gt, le, lt; days on the
    clinic's calendar), `status` (free), and `patient` for the slots that patient may safely have."""
    parameters = SearchParameters(request, ("service-type", "schedule", "location", "start", "status", "patient"))
    codes = parameters.tokens("service-type", fhir_values.TREATMENT_SYSTEM) or []
    if len(codes) != 1:
        raise FhirError(400, "required", "give one service-type: the treatment, e.g. service-type=botox")
    treatment = codes[0]
    if parameters.one("status") not in (None, "free"):
        raise FhirError(400, "not-supported", "only free slots are searched (status=free)")
    clinic_id, practitioner_id = _where(parameters)
    patient_id = parameters.reference("patient", "Patient")
    if patient_id is not None:
        may_see_patient(user, patient_id)
    count = parameters.count(DEFAULT_SLOTS, MAX_SLOTS)
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        zone = clinic_zone(get_clinic(uow.session, clinic_id).time_zone)
    bounds = parameters.dates("start", zone)
    lower = max(bounds.lower or at, at)
    first = clinic_day(lower, zone)
    last = clinic_day(bounds.upper - timedelta(microseconds=1), zone) if bounds.upper else None
    days = min((last - first).days + 1 if last else DEFAULT_SLOT_DAYS, MAX_SLOT_DAYS)
    offered = (
        find_slots_for(
            store(request),
            kb,
            treatment=treatment,
            clinic_id=clinic_id,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            first_day=first,
            days=days,
            limit=count + WIDE_LIMIT,
            now=at,
        )
        if days > 0 and count
        else []
    )
    within = [o for o in offered if o.slot.start >= lower and (bounds.upper is None or o.slot.start < bounds.upper)]
    if patient_id is not None:
        with UnitOfWork(store(request), write=True) as uow:
            audit_read(uow.session, user, "patient", patient_id)
            uow.commit()
    resources = [fhir_schedule.slot(o, clinic_id, treatment, kb) for o in within[:count]]
    return search_answer(request, parameters, resources, total=None)
