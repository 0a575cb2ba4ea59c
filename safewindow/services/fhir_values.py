"""What every FHIR resource of safewindow shares: the canonical names of its code systems and extensions,
references, a treatment as a code, instants on the clinic's clock, errors as an OperationOutcome and search
results as a Bundle.

The resources are built with the models of `fhir.resources.R4B`: the package (8.3) ships R5 as its default,
R4B and STU3, but no plain R4. Every element used here and in the other fhir_* modules (Patient, Practitioner,
PractitionerRole, Location, HealthcareService, Schedule, Slot, Appointment, Procedure and its contained
Medication, PlanDefinition, CapabilityStatement, OperationOutcome, Bundle) has the same shape in R4 (4.0.1) and
R4B, so the server declares 4.0.1 and the models still check every field, type and cardinality as the resource
is built: nothing leaves unvalidated.

Minimal by design (BC PIPA): no factors, notes or overrides leave through FHIR; a treatment is a code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from safewindow.domain.knowledge_base import KnowledgeBase

# Names, not addresses: canonical URLs identify safewindow's code systems and extensions; nothing is served there.
CANONICAL = "https://safewindow.invalid/fhir"
TREATMENT_SYSTEM = f"{CANONICAL}/CodeSystem/treatment"
QUALIFICATION_SYSTEM = f"{CANONICAL}/CodeSystem/qualification"
REFUSAL_SYSTEM = f"{CANONICAL}/CodeSystem/refusal"
SLOT_FIT_URL = f"{CANONICAL}/StructureDefinition/slot-fit"
IDEAL_WINDOW_URL = f"{CANONICAL}/StructureDefinition/ideal-window"
TIMING_RULE_URL = f"{CANONICAL}/StructureDefinition/timing-rule"


def reference(kind: str, ident: object, display: str | None = None) -> Reference:
    return Reference(reference=f"{kind}/{ident}", display=display)


def treatment_concept(kb: KnowledgeBase, slug: str) -> CodeableConcept:
    treatment = kb.treatments.get(slug)
    name = treatment.name if treatment else slug
    return CodeableConcept(coding=[Coding(system=TREATMENT_SYSTEM, code=slug, display=name)], text=name)


def local_instant(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


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


def as_json(resource: Resource) -> dict[str, Any]:
    """The resource as FHIR JSON (no empty elements)."""
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped
