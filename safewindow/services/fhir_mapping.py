"""safewindow's records as HL7 FHIR R4 resources, and an R4 Appointment as a booking request.

The resources are built with the models of `fhir.resources.R4B`: the package (8.3) ships R5 as its default,
R4B and STU3, but no plain R4. Every element used here (Patient, Practitioner, PractitionerRole, Location,
HealthcareService, Schedule, Slot, Appointment, Procedure, PlanDefinition, CapabilityStatement,
OperationOutcome, Bundle) has the same shape in R4 (4.0.1) and R4B, so the server declares 4.0.1 and the models
still check every field, type and cardinality as the resource is built: nothing leaves unvalidated.

Identifiers: a patient, practitioner, clinic (Location) or visit (Appointment, Procedure) keeps its database
id; a clinic's offer of a treatment is a HealthcareService with the offer's id; a practitioner at a clinic is a
PractitionerRole and a Schedule, both `<practitioner>-<clinic>`; a slot, which is computed and never stored, is
named by everything that defines it (see `slot_id`). Times are shown on the clinic's clock with their offset.

Minimal by design (BC PIPA): no factors, notes or overrides leave through FHIR; a treatment is a code."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementRest,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity,
)
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.location import Location, LocationHoursOfOperation
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.plandefinition import PlanDefinition, PlanDefinitionAction, PlanDefinitionActionRelatedAction
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.practitionerrole import PractitionerRole, PractitionerRoleAvailableTime
from fhir.resources.R4B.procedure import Procedure, ProcedurePerformer
from fhir.resources.R4B.range import Range
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from safewindow.clock import clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule
from safewindow.domain.spans import Span
from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.errors import InputError
from safewindow.services.slots import OfferedSlot
from safewindow.store import models

FHIR_VERSION = "4.0.1"
# Names, not addresses: canonical URLs identify safewindow's code systems and extensions; nothing is served there.
CANONICAL = "https://safewindow.invalid/fhir"
TREATMENT_SYSTEM = f"{CANONICAL}/CodeSystem/treatment"
QUALIFICATION_SYSTEM = f"{CANONICAL}/CodeSystem/qualification"
REFUSAL_SYSTEM = f"{CANONICAL}/CodeSystem/refusal"
SLOT_FIT_URL = f"{CANONICAL}/StructureDefinition/slot-fit"
IDEAL_WINDOW_URL = f"{CANONICAL}/StructureDefinition/ideal-window"
TIMING_RULE_URL = f"{CANONICAL}/StructureDefinition/timing-rule"
TIMEZONE_URL = "http://hl7.org/fhir/StructureDefinition/timezone"
PLAN_DEFINITION_ID = "timing-rules"
PLAN_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
UCUM = "http://unitsofmeasure.org"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Python's weekday() order
APPOINTMENT_STATUS = {
    models.VisitStatus.BOOKED: "booked",
    models.VisitStatus.COMPLETED: "fulfilled",
    models.VisitStatus.CANCELLED: "cancelled",
    models.VisitStatus.NO_SHOW: "noshow",
}
VISIT_STATUS = {fhir: ours for ours, fhir in APPOINTMENT_STATUS.items()}
CREATABLE_STATUSES = ("booked", "proposed", "pending")  # what a client may ask for; the visit is booked or refused


def reference(kind: str, ident: object, display: str | None = None) -> Reference:
    return Reference(reference=f"{kind}/{ident}", display=display)


def treatment_concept(kb: KnowledgeBase, slug: str) -> CodeableConcept:
    treatment = kb.treatments.get(slug)
    name = treatment.name if treatment else slug
    return CodeableConcept(coding=[Coding(system=TREATMENT_SYSTEM, code=slug, display=name)], text=name)


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


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


def schedule(
    row: models.Practitioner, clinic: models.Clinic, slugs: Iterable[str], kb: KnowledgeBase, horizon: Period | None
) -> Schedule:
    return Schedule(
        id=role_id(row.id, clinic.id),
        active=row.active,
        actor=[reference("Practitioner", row.id, row.name), reference("Location", clinic.id, clinic.name)],
        serviceType=[treatment_concept(kb, slug) for slug in sorted(slugs)] or None,
        planningHorizon=horizon,
        comment="Free times are the Slots of this Schedule; search them by service-type and start.",
    )


@dataclass(frozen=True, slots=True)
class SlotKey:
    clinic_id: int
    practitioner_id: int
    treatment: str
    start: datetime  # UTC, to the minute


def slot_id(key: SlotKey) -> str:
    """`<clinic>-<practitioner>-<yyyymmddhhmm UTC>-<treatment>`: a slot is computed, so its id names it."""
    return f"{key.clinic_id}-{key.practitioner_id}-{key.start.astimezone(UTC):%Y%m%d%H%M}-{key.treatment}"


def parse_slot_id(text: str) -> SlotKey | None:
    found = re.fullmatch(r"(\d{1,9})-(\d{1,9})-(\d{12})-([a-z0-9][a-z0-9-]{0,40})", text)
    if found is None:
        return None
    try:
        start = datetime.strptime(found[3], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return SlotKey(int(found[1]), int(found[2]), found[4], start)


def slot(offered: OfferedSlot, clinic_id: int, treatment: str, kb: KnowledgeBase, status: str = "free") -> Slot:
    """A free slot; for a patient, an extension says whether it is in the ideal window, and the comment why not."""
    found = offered.slot
    key = SlotKey(clinic_id, int(found.practitioner_id), treatment, found.start)
    return Slot(
        id=slot_id(key),
        schedule=reference("Schedule", role_id(key.practitioner_id, clinic_id), offered.practitioner_name),
        status=status,
        start=_local(found.start, offered.zone),
        end=_local(found.end, offered.zone),
        serviceType=[treatment_concept(kb, treatment)],
        extension=[Extension(url=SLOT_FIT_URL, valueCode=str(found.fit))] if found.fit else None,
        comment=" ".join(w.message for w in found.warnings) or None,
    )


def busy_slot(key: SlotKey, end: datetime, zone: ZoneInfo, kb: KnowledgeBase) -> Slot:
    """A slot read by id that is no longer offered."""
    return Slot(
        id=slot_id(key),
        schedule=reference("Schedule", role_id(key.practitioner_id, key.clinic_id)),
        status="busy",
        start=_local(key.start, zone),
        end=_local(end, zone),
        serviceType=[treatment_concept(kb, key.treatment)],
    )


def _meta(version: int) -> Meta:
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
        start=_local(visit.start_at, zone),
        end=_local(visit.end_at, zone),
        minutesDuration=int((visit.end_at - visit.start_at).total_seconds() // 60),
        created=_local(visit.created_at, zone),
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


def procedure(visit: models.Visit, kb: KnowledgeBase) -> Procedure:
    """A completed visit: what was done, to whom, by whom, where and when."""
    zone = clinic_zone(visit.clinic.time_zone)
    return Procedure(
        id=str(visit.id),
        meta=_meta(visit.version),
        status="completed",
        code=treatment_concept(kb, visit.treatment_slug),
        subject=reference("Patient", visit.patient_id, visit.patient.name),
        performedPeriod=Period(start=_local(visit.start_at, zone), end=_local(visit.end_at, zone)),
        performer=[ProcedurePerformer(actor=reference("Practitioner", visit.practitioner_id, visit.practitioner.name))],
        location=reference("Location", visit.clinic_id, visit.clinic.name),
    )


def _duration(span: Span) -> dict[str, Any]:
    """A UCUM duration, as the fields of a Quantity or Duration (whichever element takes it)."""
    # The loader makes a span of days or of months, never both; a mix would have no one UCUM unit.
    if span.months and span.days:
        raise ValueError(f"{span} mixes months and days")
    if span.months:
        return {"value": span.months, "unit": "month" if span.months == 1 else "months", "system": UCUM, "code": "mo"}
    return {"value": span.days, "unit": "day" if span.days == 1 else "days", "system": UCUM, "code": "d"}


def _rule_extensions(rule: IntervalRule) -> list[Extension]:
    details = [
        Extension(url="id", valueString=rule.id),
        Extension(url="kind", valueCode=str(rule.kind)),
        Extension(url="scope", valueCode=str(rule.scope)),
        Extension(url="evidence", valueCode=str(rule.evidence)),
        Extension(url="source", valueString=rule.source),
        Extension(url="rationale", valueString=rule.rationale),
    ]
    if rule.maximum is not None:
        details.append(Extension(url="maximum", valueDuration=_duration(rule.maximum)))
    if rule.same_day is not None:
        details.append(Extension(url="same-day", valueCode=str(rule.same_day)))
    extensions = [Extension(url=TIMING_RULE_URL, extension=details)]
    if rule.ideal is not None:
        low, high = rule.ideal
        extensions.append(Extension(url=IDEAL_WINDOW_URL, valueRange=Range(low=_duration(low), high=_duration(high))))
    return extensions


def plan_definition(kb: KnowledgeBase, base: str) -> PlanDefinition:
    """The interval rules as one protocol: an action per treatment; on the later treatment's action, a related
    action per rule, `after-start` of the earlier one with the minimum as `offsetRange.low`, the ideal window
    in an extension (ideal-window) and the rule's id, kind, evidence, source and maximum in another."""
    related: dict[str, list[PlanDefinitionActionRelatedAction]] = {}
    for rule in kb.rules:
        for later in sorted(rule.before):
            for earlier in sorted(rule.after):
                related.setdefault(earlier, [])
                related.setdefault(later, []).append(
                    PlanDefinitionActionRelatedAction(
                        actionId=earlier,
                        relationship="after-start",
                        offsetRange=Range(low=_duration(rule.minimum)),
                        extension=_rule_extensions(rule),
                    )
                )
    actions = [
        PlanDefinitionAction(
            id=slug,
            title=kb.treatments[slug].name if slug in kb.treatments else slug,
            code=[treatment_concept(kb, slug)],
            relatedAction=related[slug] or None,
        )
        for slug in sorted(related)
    ]
    return PlanDefinition(
        id=PLAN_DEFINITION_ID,
        url=f"{CANONICAL}/PlanDefinition/{PLAN_DEFINITION_ID}",
        version=kb.version,
        name="SafewindowTimingRules",
        title="Timing rules between aesthetic treatments",
        type=CodeableConcept(coding=[Coding(system=PLAN_TYPE_SYSTEM, code="clinical-protocol")]),
        status="active",
        publisher="safewindow",
        description=(
            "How long after one treatment another may follow, in the same area unless the rule's scope says "
            f"patient: at least the minimum, ideally within the ideal window. {FINAL_WORD} Served at {base}."
        ),
        action=actions or None,
    )


# --- Errors and bundles ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issue:
    code: str  # an OperationOutcome issue type: invalid, not-found, business-rule, ...
    diagnostics: str
    severity: str = "error"
    expression: str | None = None  # a FHIRPath to the element at fault
    detail_code: str | None = None  # a refusal code or rule id (REFUSAL_SYSTEM)
    detail_text: str | None = None


def operation_outcome(issues: Sequence[Issue]) -> OperationOutcome:
    return OperationOutcome(
        issue=[
            OperationOutcomeIssue(
                severity=issue.severity,
                code=issue.code,
                diagnostics=issue.diagnostics,
                expression=[issue.expression] if issue.expression else None,
                details=CodeableConcept(
                    coding=[Coding(system=REFUSAL_SYSTEM, code=issue.detail_code)] if issue.detail_code else None,
                    text=issue.detail_text,
                )
                if issue.detail_code or issue.detail_text
                else None,
            )
            for issue in issues
        ]
    )


def searchset(
    base: str,
    resources: Sequence[Resource],
    *,
    total: int | None,
    self_url: str,
    next_url: str | None = None,
) -> Bundle:
    links = [BundleLink(relation="self", url=self_url)]
    if next_url is not None:
        links.append(BundleLink(relation="next", url=next_url))
    return Bundle(
        type="searchset",
        total=total,
        link=links,
        entry=[
            BundleEntry(
                fullUrl=f"{base}/{resource.get_resource_type()}/{resource.id}",
                resource=resource,
                search=BundleEntrySearch(mode="match"),
            )
            for resource in resources
        ]
        or None,
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


def as_json(resource: Resource) -> dict[str, Any]:
    """The resource as FHIR JSON (no empty elements)."""
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped


# --- What the server offers ----------------------------------------------------------------------------------

# (resource, interactions, search parameters as (name, type, documentation), who may use it)
OFFERED: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str, str], ...], str], ...] = (
    (
        "Patient",
        ("read", "search-type"),
        (("_id", "token", "id"), ("name", "string", "any word starts with it"), ("birthdate", "date", "YYYY-MM-DD")),
        "The patient themselves, or staff; every read is audited.",
    ),
    (
        "Practitioner",
        ("read", "search-type"),
        (("_id", "token", "id"), ("name", "string", "any word starts with it"), ("active", "token", "true|false")),
        "Signed-in users.",
    ),
    (
        "PractitionerRole",
        ("read", "search-type"),
        (("practitioner", "reference", "Practitioner/ID"), ("location", "reference", "Location/ID")),
        "Signed-in users. A practitioner at a clinic; id <practitioner>-<clinic>.",
    ),
    (
        "Location",
        ("read", "search-type"),
        (("_id", "token", "id"), ("name", "string", "any word starts with it")),
        "Public: the clinics.",
    ),
    (
        "HealthcareService",
        ("read", "search-type"),
        (
            ("_id", "token", "id"),
            ("location", "reference", "Location/ID"),
            ("service-type", "token", f"a treatment ({TREATMENT_SYSTEM})"),
            ("active", "token", "true|false"),
        ),
        "Public: what each clinic offers.",
    ),
    (
        "Schedule",
        ("read", "search-type"),
        (("actor", "reference", "Practitioner/ID or Location/ID"), ("service-type", "token", "a treatment")),
        "Signed-in users. A practitioner's diary at a clinic; id <practitioner>-<clinic>.",
    ),
    (
        "Slot",
        ("read", "search-type"),
        (
            ("service-type", "token", "required: one treatment"),
            ("schedule", "reference", "Schedule/ID (or location)"),
            ("location", "reference", "Location/ID (or schedule)"),
            ("start", "date", "eq, ge, gt, le, lt; days on the clinic's calendar"),
            ("status", "token", "free"),
            ("patient", "reference", "Patient/ID: only slots safe for this patient (rule-aware; audited)"),
        ),
        "Signed-in users; with patient, that patient or staff. Computed free times, never stored.",
    ),
    (
        "Appointment",
        ("read", "search-type", "create"),
        (
            ("_id", "token", "id"),
            ("patient", "reference", "Patient/ID"),
            ("date", "date", "the start: eq, ge, gt, le, lt"),
            ("status", "token", "booked | fulfilled | cancelled | noshow"),
            ("practitioner", "reference", "Practitioner/ID"),
            ("location", "reference", "Location/ID"),
            ("service-type", "token", "a treatment"),
        ),
        "The patient or staff; audited. Create books through the same rules as every channel: a visit they "
        "refuse is answered 409 with an OperationOutcome listing every reason.",
    ),
    (
        "Procedure",
        ("read", "search-type"),
        (
            ("_id", "token", "id"),
            ("patient", "reference", "Patient/ID"),
            ("date", "date", "the start"),
            ("code", "token", "a treatment"),
            ("practitioner", "reference", "Practitioner/ID"),
            ("location", "reference", "Location/ID"),
        ),
        "The patient or staff; audited. Completed visits.",
    ),
    (
        "PlanDefinition",
        ("read", "search-type"),
        (("_id", "token", PLAN_DEFINITION_ID), ("url", "uri", "the canonical URL")),
        "Public: the timing rules between treatments, one PlanDefinition.",
    ),
)


def capability_statement(base: str, software_version: str, kb_version: str, published: datetime) -> CapabilityStatement:
    return CapabilityStatement(
        id="safewindow",
        status="active",
        date=published,
        publisher="safewindow",
        kind="instance",
        description=f"safewindow's FHIR R4 interface (knowledge base {kb_version}). {FINAL_WORD}",
        software={"name": "safewindow", "version": software_version},
        implementation={"description": "safewindow", "url": base},
        fhirVersion=FHIR_VERSION,
        format=["application/fhir+json", "json"],
        rest=[
            CapabilityStatementRest(
                mode="server",
                security=CapabilityStatementRestSecurity(
                    cors=False,
                    description=(
                        "Send the session token as 'Authorization: Bearer <token>'. A patient sees only their own "
                        "records; another patient's answer 404. Reads of patient records are audited (BC PIPA)."
                    ),
                ),
                resource=[
                    CapabilityStatementRestResource(
                        type=kind,
                        documentation=who,
                        interaction=[CapabilityStatementRestResourceInteraction(code=code) for code in interactions],
                        searchParam=[
                            CapabilityStatementRestResourceSearchParam(name=name, type=kind_, documentation=doc)
                            for name, kind_, doc in parameters
                        ],
                    )
                    for kind, interactions, parameters, who in OFFERED
                ],
            )
        ],
    )
