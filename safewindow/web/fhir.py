"""HL7 FHIR R4 under /fhir/R4, JSON only (`application/fhir+json`): the CapabilityStatement at /metadata, the
directory (fhir_directory), schedules and slots (fhir_scheduling), appointments and procedures (fhir_visits),
and the timing rules as one PlanDefinition (here).

Roles and audit are the API's (web/auth.py). Every answer, errors included, is a FHIR resource built with the
models of fhir.resources (R4B, the package's nearest to R4: see services/fhir_values.py); an error is an
OperationOutcome with its status, never an HTML page; a path or method this server does not offer is one too."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

import safewindow
from safewindow.services import fhir_capability, fhir_plan_definition
from safewindow.web import fhir_consents, fhir_directory, fhir_orders, fhir_scheduling, fhir_visits
from safewindow.web.dependencies import knowledge_base
from safewindow.web.fhir_common import (
    PREFIX,
    FhirError,
    FhirRoute,
    SearchParameters,
    base_url,
    fhir_response,
    not_found,
    search_answer,
)

router = APIRouter(prefix=PREFIX, route_class=FhirRoute, include_in_schema=False)
STARTED = datetime.now(UTC).replace(microsecond=0)


@router.get("/metadata")
async def metadata(request: Request) -> Response:
    kb = knowledge_base(request)
    return fhir_response(
        fhir_capability.capability_statement(base_url(request), safewindow.__version__, kb.version, STARTED)
    )


@router.get("/PlanDefinition/{ident}")
async def read_plan_definition(request: Request, ident: str) -> Response:
    if ident != fhir_plan_definition.PLAN_DEFINITION_ID:
        raise not_found("PlanDefinition", ident)
    return fhir_response(fhir_plan_definition.plan_definition(knowledge_base(request), base_url(request)))


@router.get("/PlanDefinition")
async def search_plan_definitions(request: Request) -> Response:
    """`_id` or `url`: there is one PlanDefinition, the timing rules."""
    parameters = SearchParameters(request, ("_id", "url"))
    plan = fhir_plan_definition.plan_definition(knowledge_base(request), base_url(request))
    ident, url = parameters.one("_id"), parameters.one("url")
    matches = (ident in (None, plan.id)) and (url in (None, plan.url))
    found = [plan] if matches and parameters.count() else []
    return search_answer(request, parameters, found, total=1 if matches else 0)


PARTS = (fhir_directory, fhir_scheduling, fhir_visits, fhir_orders, fhir_consents)
for part in (module.router for module in PARTS):
    router.include_router(part)

SUPPORTED = frozenset(kind for kind, *_ in fhir_capability.OFFERED)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def not_offered(rest: str, request: Request) -> Response:
    """Anything else under /fhir/R4: an OperationOutcome rather than the site's HTML error page."""
    kind = rest.split("/", 1)[0]
    status = 405 if kind in SUPPORTED and request.method != "GET" else 404
    raise FhirError(status, "not-supported", f"{request.method} {PREFIX}/{rest} is not offered; see {PREFIX}/metadata")
