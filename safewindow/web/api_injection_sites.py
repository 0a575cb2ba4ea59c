"""The injection map's sites over the API: where a treatment record may mark what was injected (`injection_points`
of POST /api/v1/visits/{visit_id}/records), and how each injected category is counted. Knowledge-base data, the
same for every clinic and nobody's health data: public, like /api/v1/treatments, and the same JSON as
`safewindow injection-sites --json`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.services.catalogue import injection_sites as injection_sites_of
from safewindow.web.api_models import Problems, Shape
from safewindow.web.asking import quoted
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound

router = APIRouter(
    prefix="/api/v1", tags=["injection sites"], responses={422: {"model": Problems, "description": "Bad input"}}
)


class MeasureOut(Shape):
    category: str
    unit: str = Field(description="units (toxin) or mL.")
    most_per_site: float = Field(
        description="The most one site may hold before an entry is refused as a typing slip: not a dose."
    )
    treatments: list[str] = Field(description="The treatments in the category.")


class SiteOut(Shape):
    id: str
    name: str
    x: int = Field(description="On the face drawing, 200 wide, as you look at the patient.")
    y: int = Field(description="On the face drawing, 240 high.")
    categories: list[str] = Field(description="The categories whose records may mark the site.")


class InjectionSitesOut(Shape):
    measures: list[MeasureOut]
    sites: list[SiteOut] = Field(description="In drawing order, top to bottom.")


@router.get(
    "/injection-sites",
    response_model=InjectionSitesOut,
    responses={404: {"model": Problems, "description": "No such treatment"}},
    summary="The injection map's sites and how each injected category is counted (public)",
    description="With `treatment`, only its measure and the sites its record may mark: none for a treatment that "
    "is not injected.",
)
async def injection_sites(
    request: Request, treatment: Annotated[str | None, Query(description="A treatment's slug, e.g. botox.")] = None
) -> JSONResponse:
    if treatment is not None and treatment not in knowledge_base(request).treatments:
        raise NotFound("treatment", f"no treatment {quoted(treatment)}")
    return JSONResponse(injection_sites_of(default_injection_maps(), treatment))
