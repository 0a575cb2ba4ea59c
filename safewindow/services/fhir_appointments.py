"""A visit as FHIR (an Appointment; once completed, a Procedure too, with what was given if it was recorded), and
an R4 Appointment as a booking request.

A visit keeps its database id in both; times are shown on the clinic's clock with their offset. Built with the
R4B models (see fhir_values)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.medication import Medication, MedicationBatch
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.procedure import Procedure, ProcedurePerformer
from fhir.resources.R4B.reference import Reference

from safewindow.clock import clinic_zone
from safewindow.domain.injection_map import InjectionMaps, Point, amount_text
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.services.errors import InputError
from safewindow.services.fhir_schedule import parse_slot_id
from safewindow.services.fhir_values import CANONICAL, TREATMENT_SYSTEM, local_instant, reference, treatment_concept
from safewindow.services.treatment_records import Record
from safewindow.store import models

APPOINTMENT_STATUS = {
    models.VisitStatus.BOOKED: "booked",
    models.VisitStatus.COMPLETED: "fulfilled",
    models.VisitStatus.CANCELLED: "cancelled",
    models.VisitStatus.NO_SHOW: "noshow",
}
VISIT_STATUS = {fhir: ours for ours, fhir in APPOINTMENT_STATUS.items()}
CREATABLE_STATUSES = ("booked", "proposed", "pending")  # what a client may ask for; the visit is booked or refused
INJECTION_SITE_SYSTEM = f"{CANONICAL}/CodeSystem/injection-site"  # the ids of injection_sites.yaml
PRODUCT = "product"  # the contained Medication's id


def _meta(version: int | str) -> Meta:
    return Meta(versionId=str(version))


def appointment(visit: models.Visit, kb: KnowledgeBase) -> Appointment:
    zone = clinic_zone(visit.clinic.time_zone)
    concept = treatment_concept(kb, visit.treatment_slug)
    return Appointment(
        id=str(visit.id),
        meta=_meta(visit.version),
        status=APPOINTMENT_STATUS[visit.status],
        serviceType=[concept],
        description=f"{concept.text} at {visit.clinic.name}",
        start=local_instant(visit.start_at, zone),
        end=local_instant(visit.end_at, zone),
        minutesDuration=int((visit.end_at - visit.start_at).total_seconds() // 60),
        created=local_instant(visit.created_at, zone),
        participant=[
            AppointmentParticipant(
                actor=reference("Patient", visit.patient_id, visit.patient.name), required="required", status="accepted"
            ),
            AppointmentParticipant(
                actor=reference("Practitioner", visit.practitioner_id, visit.practitioner.name),
                required="required",
                status="accepted",
            ),
            AppointmentParticipant(
                actor=reference("Location", visit.clinic_id, visit.clinic.name), required="required", status="accepted"
            ),
        ],
    )


def procedure(
    visit: models.Visit, kb: KnowledgeBase, record: Record | None = None, maps: InjectionMaps | None = None
) -> Procedure:
    """A completed visit: what was done, to whom, by whom, where and when; with its record (the newest) for a
    reader who may see it, what was given: the product, its lot and expiry, and the amount at each site."""
    zone = clinic_zone(visit.clinic.time_zone)
    given = _given(record, maps or default_injection_maps()) if record else {}
    return Procedure(
        id=str(visit.id),
        meta=_meta(version_of(visit, record)),
        status="completed",
        code=treatment_concept(kb, visit.treatment_slug),
        subject=reference("Patient", visit.patient_id, visit.patient.name),
        performedPeriod=Period(start=local_instant(visit.start_at, zone), end=local_instant(visit.end_at, zone)),
        performer=[ProcedurePerformer(actor=reference("Practitioner", visit.practitioner_id, visit.practitioner.name))],
        location=reference("Location", visit.clinic_id, visit.clinic.name),
        **given,
    )


def version_of(visit: models.Visit, record: Record | None = None) -> str:
    """A record is written after the visit is completed and leaves the visit's version as it was, so a Procedure's
    version names its record too: a client that compares versions sees the record arrive, and each correction."""
    return f"{visit.version}-{record.id}" if record else str(visit.version)


def _given(record: Record, maps: InjectionMaps) -> dict[str, Any]:
    # R4's Procedure has no element for a lot number or an expiry, and its Medication has both (batch.lotNumber,
    # batch.expirationDate): so the product is a Medication contained in the Procedure and named by usedReference,
    # which R4 gives for the medications used; usedCode says the product as text for a client that reads only
    # codes. A note (Annotation) would carry the lot only as prose, and focalDevice is for a device implanted or
    # changed, not a product injected. The record's dose, areas and note stay in the chart (fhir_values).
    product = Medication(
        id=PRODUCT,
        code=CodeableConcept(text=record.product),
        batch=MedicationBatch(lotNumber=record.lot_number, expirationDate=record.expires_on),
    )
    return {
        "contained": [product],
        "usedReference": [Reference(reference=f"#{PRODUCT}", display=record.product)],
        "usedCode": [CodeableConcept(text=record.product)],
        "bodySite": [_site(point, maps) for point in record.points] or None,
    }


def _site(point: Point, maps: InjectionMaps) -> CodeableConcept:
    """'Glabellar lines (procerus): 20 units'; a site since taken off the map keeps its id as its name."""
    site = maps.sites.get(point.site)
    name = site.name if site else point.site
    return CodeableConcept(
        coding=[Coding(system=INJECTION_SITE_SYSTEM, code=point.site, display=name)],
        text=f"{name}: {amount_text(point.amount)} {point.unit}",
    )


# --- An Appointment to book ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingRequest:
    patient_id: int
    clinic_id: int
    treatment: str
    start: datetime  # UTC
    practitioner_id: int | None


def _reference_id(value: Reference | None, kind: str, where: str) -> int | None:
    if value is None or value.reference is None:
        return None
    found = re.fullmatch(rf"(?:.*/)?{kind}/(\d{{1,18}})", value.reference)
    if found is None:
        raise InputError(where, f"{value.reference!r} is not a reference to a {kind} (e.g. {kind}/1)")
    return int(found[1])


def _treatment(codes: Sequence[CodeableConcept] | None, kb: KnowledgeBase) -> str | None:
    for concept in codes or ():
        for coding in concept.coding or ():
            if coding.code and coding.system in (TREATMENT_SYSTEM, None):
                if coding.code not in kb.treatments:
                    raise InputError("Appointment.serviceType", f"unknown treatment {coding.code!r}")
                return str(coding.code)
    return None


def _actors(resource: Appointment) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {"Patient": [], "Practitioner": [], "Location": []}
    for index, participant in enumerate(resource.participant or ()):
        ref = participant.actor.reference if participant.actor else None
        kind = (ref or "").rsplit("/", 2)[-2] if ref and "/" in ref else None
        if kind not in found:
            raise InputError(f"Appointment.participant[{index}].actor", "name a Patient, a Practitioner or a Location")
        ident = _reference_id(participant.actor, kind, f"Appointment.participant[{index}].actor")
        assert ident is not None
        found[kind].append(ident)
    return found


def _only(values: list[int], what: str, required: bool) -> int | None:
    if len(values) > 1:
        raise InputError("Appointment.participant", f"name one {what}, not {len(values)}")
    if required and not values:
        raise InputError("Appointment.participant", f"name the {what} (a participant whose actor is {what}/ID)")
    return values[0] if values else None


def booking_request(resource: Appointment, kb: KnowledgeBase) -> BookingRequest:
    """What to book: from the Slot it names (`slot`: Slot/ID), or from the service type, the start, and the
    Location among the participants. The Patient is always a participant; a Practitioner is optional (the
    first free and qualified one otherwise). The end follows from the clinic's duration of the treatment."""
    if resource.status not in CREATABLE_STATUSES:
        raise InputError("Appointment.status", f"create an appointment as one of {', '.join(CREATABLE_STATUSES)}")
    actors = _actors(resource)
    patient_id = _only(actors["Patient"], "Patient", required=True)
    assert patient_id is not None
    treatment = _treatment(resource.serviceType, kb)
    slots = [ref for ref in resource.slot or () if ref.reference]
    if len(slots) > 1:
        raise InputError("Appointment.slot", "name one slot")
    if slots:
        key = parse_slot_id(str(slots[0].reference).rsplit("Slot/", 1)[-1])
        if key is None:
            raise InputError("Appointment.slot", f"{slots[0].reference!r} is not a slot of this server")
        named = _only(actors["Practitioner"], "Practitioner", required=False)
        clinic = _only(actors["Location"], "Location", required=False)
        if (named not in (None, key.practitioner_id)) or (clinic not in (None, key.clinic_id)):
            raise InputError("Appointment.participant", "the participants do not match the slot")
        if treatment not in (None, key.treatment) or (resource.start and resource.start.astimezone(UTC) != key.start):
            raise InputError("Appointment.slot", "the service type or start does not match the slot")
        return BookingRequest(patient_id, key.clinic_id, key.treatment, key.start, key.practitioner_id)
    if treatment is None:
        raise InputError("Appointment.serviceType", f"give the treatment as a coding of {TREATMENT_SYSTEM}")
    if resource.start is None:
        raise InputError("Appointment.start", "give the start, with its UTC offset")
    clinic_id = _only(actors["Location"], "Location", required=True)
    assert clinic_id is not None
    start = resource.start.astimezone(UTC)
    return BookingRequest(
        patient_id, clinic_id, treatment, start, _only(actors["Practitioner"], "Practitioner", required=False)
    )
