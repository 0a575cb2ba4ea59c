"""safewindow's directory as FHIR: a patient (Patient), a practitioner (Practitioner), a practitioner at a clinic
(PractitionerRole), a clinic (Location) and a clinic's offer of a treatment (HealthcareService).

Identifiers: a patient, practitioner or clinic keeps its database id; a clinic's offer of a treatment is a
HealthcareService with the offer's id; a practitioner at a clinic is a PractitionerRole and a Schedule, both
`<practitioner>-<clinic>` (see `role_id`). Built with the R4B models (see fhir_values)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.location import Location, LocationHoursOfOperation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.practitionerrole import PractitionerRole, PractitionerRoleAvailableTime

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.fhir_values import QUALIFICATION_SYSTEM, reference, treatment_concept
from safewindow.store import models

TIMEZONE_URL = "http://hl7.org/fhir/StructureDefinition/timezone"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Python's weekday() order


def _clock(at: time) -> str:
    return at.strftime("%H:%M:%S")


def patient(row: models.Patient) -> Patient:
    telecom = [ContactPoint(system="email", value=row.email, use="home")] if row.email.strip() else []
    if row.phone:
        telecom.append(ContactPoint(system="phone", value=row.phone, use="mobile"))
    return Patient(
        id=str(row.id),
        active=True,
        name=[HumanName(text=row.name)],
        birthDate=row.birth_date,
        telecom=telecom or None,
    )


def practitioner(row: models.Practitioner) -> Practitioner:
    return Practitioner(
        id=str(row.id),
        active=row.active,
        name=[HumanName(text=row.name)],
        telecom=[ContactPoint(system="email", value=row.email, use="work")],
        qualification=[
            PractitionerQualification(
                code=CodeableConcept(coding=[Coding(system=QUALIFICATION_SYSTEM, code=q.id, display=q.name)])
            )
            for q in sorted(row.qualifications, key=lambda q: q.id)
        ]
        or None,
    )


def role_id(practitioner_id: int, clinic_id: int) -> str:
    """A practitioner at a clinic: the PractitionerRole and the Schedule share this id."""
    return f"{practitioner_id}-{clinic_id}"


def parse_role_id(text: str) -> tuple[int, int] | None:
    found = re.fullmatch(r"(\d{1,18})-(\d{1,18})", text)
    return (int(found[1]), int(found[2])) if found else None


def practitioner_role(
    row: models.Practitioner, clinic: models.Clinic, offers: Sequence[models.ClinicTreatment]
) -> PractitionerRole:
    """`offers`: what the clinic offers that this practitioner is qualified for."""
    shifts = sorted((h for h in row.hours if h.clinic_id == clinic.id), key=lambda h: (h.weekday, h.starts))
    return PractitionerRole(
        id=role_id(row.id, clinic.id),
        active=row.active,
        practitioner=reference("Practitioner", row.id, row.name),
        location=[reference("Location", clinic.id, clinic.name)],
        healthcareService=[reference("HealthcareService", offer.id) for offer in offers] or None,
        availableTime=[
            PractitionerRoleAvailableTime(
                daysOfWeek=[WEEKDAYS[h.weekday]], availableStartTime=_clock(h.starts), availableEndTime=_clock(h.ends)
            )
            for h in shifts
        ]
        or None,
    )


def location(row: models.Clinic) -> Location:
    return Location(
        id=str(row.id),
        status="active",
        mode="instance",
        name=row.name,
        address={"text": row.address},
        telecom=[ContactPoint(system="phone", value=row.phone, use="work")] if row.phone else None,
        hoursOfOperation=[
            LocationHoursOfOperation(
                daysOfWeek=[WEEKDAYS[h.weekday]], openingTime=_clock(h.opens), closingTime=_clock(h.closes)
            )
            for h in sorted(row.hours, key=lambda h: (h.weekday, h.opens))
        ]
        or None,
        extension=[Extension(url=TIMEZONE_URL, valueCode=row.time_zone)],
    )


def healthcare_service(offer: models.ClinicTreatment, clinic: models.Clinic, kb: KnowledgeBase) -> HealthcareService:
    concept = treatment_concept(kb, offer.treatment_slug)
    return HealthcareService(
        id=str(offer.id),
        active=offer.active,
        name=f"{concept.text} at {clinic.name}",
        type=[concept],
        location=[reference("Location", clinic.id, clinic.name)],
        comment=f"About {offer.duration_minutes} minutes.",
    )
