"""The pages' Jinja2 environment: templates/ with autoescaping, and the few filters the templates use."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
from fastapi.templating import Jinja2Templates

from safewindow.domain.deposits import dollars, terms
from safewindow.domain.injection_map import amount_text
from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.phone_numbers import for_people, tel_link

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def long_date(day: date | None) -> str:
    """'Tuesday 24 November 2026': unambiguous for patients wherever they learned to write dates."""
    if day is None:
        return ""
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: date | None) -> str:
    """'24 Nov 2026'."""
    return "" if day is None else f"{day.day} {day:%b %Y}"


# StrictUndefined: a misspelt name in a template fails its test instead of rendering as nothing.
_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_environment)
templates.env.filters["long_date"] = long_date
templates.env.filters["short_date"] = short_date
templates.env.filters["dollars"] = dollars  # cents as the clinic writes them: $50.00
templates.env.filters["phone"] = for_people  # +16045550142 as +1 604-555-0142
templates.env.filters["tel"] = tel_link  # what a phone dials: tel:+1-604-555-0100
templates.env.globals["deposit_terms"] = terms
templates.env.globals["final_word"] = FINAL_WORD
templates.env.filters["amount_text"] = amount_text  # 2.50 as a practitioner writes it: 2.5
templates.env.globals["injection_maps"] = default_injection_maps  # the sites of a record's injection map
