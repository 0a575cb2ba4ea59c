"""What safewindow's FHIR server offers, as its CapabilityStatement: each resource, its interactions and search
parameters, and who may use it.

The server declares FHIR 4.0.1 (R4); the resources are built with the R4B models (see fhir_values)."""

from __future__ import annotations

from datetime import datetime

from fhir.resources.R4B.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementRest,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity,
)

from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.fhir_plan_definition import PLAN_DEFINITION_ID
from safewindow.services.fhir_values import TREATMENT_SYSTEM

FHIR_VERSION = "4.0.1"

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
        "ServiceRequest",
        ("read", "search-type"),
        (
            ("_id", "token", "id"),
            ("patient", "reference", "Patient/ID"),
            ("status", "token", "active | revoked | completed"),
        ),
        "Practitioners, or the patient themselves (front desk and clinic admin: 403); audited. An authorized "
        "prescriber's client-specific order: active while in force, completed once past its last day "
        "(occurrencePeriod.end), or revoked.",
    ),
    (
        "Consent",
        ("read", "search-type"),
        (("_id", "token", "id"), ("patient", "reference", "Patient/ID")),
        "Practitioners and front desk, or the patient themselves (clinic admin: 403); audited. A patient's "
        "signature on a clinic's consent form for a treatment (scope treatment): active, or inactive once withdrawn; "
        "the exact words signed in sourceAttachment, with their SHA-1 hash.",
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
