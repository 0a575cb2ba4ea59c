"""Reads injection_sites.yaml, validates it against the knowledge base, and builds the domain's InjectionMaps.

A broken file fails with one KnowledgeError naming the file, the site (or measure) and the field: a measure's
category must be one the knowledge base's injected treatments are in, and every site's categories must
have a measure."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field

from safewindow.domain.injection_map import InjectionMaps, Measure, Site
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import DATA_DIR, KnowledgeError, default_knowledge_base, read_file
from safewindow.knowledge.schema import Slug, Strict

SITES_FILE = DATA_DIR / "injection_sites.yaml"


class MeasureFile(Strict):
    category: Slug
    unit: str = Field(min_length=1, max_length=8)
    most_per_site: Decimal = Field(gt=0)


class SiteFile(Strict):
    id: Slug
    name: str = Field(min_length=1, max_length=100)
    x: int = Field(ge=0, le=200)
    y: int = Field(ge=0, le=240)
    categories: tuple[Slug, ...] = Field(min_length=1)


class SitesFile(Strict):
    measures: tuple[MeasureFile, ...]
    sites: tuple[SiteFile, ...]


def load_injection_maps(kb: KnowledgeBase, file: Path = SITES_FILE) -> InjectionMaps:
    data = read_file(file, SitesFile, ("measures", "sites"))
    injected = {t.category for t in kb.treatments.values() if t.injection}
    measures: dict[str, Measure] = {}
    for measure in data.measures:
        if measure.category not in injected:
            raise KnowledgeError(file, measure.category, "category", "no injected treatment is in this category")
        if measure.category in measures:
            raise KnowledgeError(file, measure.category, "category", "measured twice")
        measures[measure.category] = Measure(measure.unit, measure.most_per_site)
    sites: dict[str, Site] = {}
    for site in data.sites:
        if site.id in sites:
            raise KnowledgeError(file, site.id, "id", "used twice")
        for category in site.categories:
            if category not in measures:
                raise KnowledgeError(file, site.id, "categories", f"no measure for {category!r}")
        sites[site.id] = Site(site.id, site.name, site.x, site.y, frozenset(site.categories))
    categories = {slug: t.category for slug, t in kb.treatments.items() if t.category in measures}
    return InjectionMaps(sites, measures, categories)


@lru_cache(maxsize=1)
def default_injection_maps() -> InjectionMaps:
    """The shipped sites, validated against the shipped knowledge base once per process."""
    return load_injection_maps(default_knowledge_base())
