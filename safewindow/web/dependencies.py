"""What routes take from the application rather than from the request's own fields: the knowledge base, the
clinic's zone and its today.

`today` is a FastAPI dependency: tests replace it with `app.dependency_overrides[today] = lambda: date(...)`.
The knowledge base is application state (`app.state.knowledge_base`, set once by create_app), read with
`knowledge_base(request)` rather than solved as a dependency: each dependency FastAPI solves costs about 10 µs,
which on /api/v1/advice is as much as the advice itself (bench/api.py). Dependencies are `async def`: FastAPI
runs plain functions in a thread pool, a cost the advisor's microseconds of work do not need."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request

from safewindow.clock import clinic_today, clinic_zone, now_utc
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.errors import InputError
from safewindow.web.asking import quoted
from safewindow.web.settings import WebSettings


def knowledge_base(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.knowledge_base
    return kb


def zone_named(name: str, field: str = "zone") -> ZoneInfo:
    """The zone, or InputError."""
    try:
        return clinic_zone(name)
    except ValueError:
        raise InputError(field, f"{quoted(name)} is not a known time zone, e.g. America/Vancouver") from None


ZoneQuery = Annotated[
    str | None,
    Query(description="The clinic's time zone, whose calendar days the dates are; default America/Vancouver."),
]


def _zone_of(request: Request, name: str | None) -> ZoneInfo:
    settings: WebSettings = request.app.state.settings
    return zone_named(name if name is not None else settings.zone)


async def zone(request: Request, zone: ZoneQuery = None) -> ZoneInfo:
    """The clinic's zone: the `zone` query parameter, or the configured one."""
    return _zone_of(request, zone)


async def today(request: Request, zone: ZoneQuery = None) -> date:
    """The clinic's today: the calendar day it is now in the clinic's zone. It reads the zone itself rather
    than through `zone`: each dependency FastAPI solves costs the API's hot path some microseconds."""
    return clinic_today(_zone_of(request, zone))


TodayDep = Annotated[date, Depends(today)]


async def now() -> datetime:
    """The clock, as a dependency tests can replace (`app.dependency_overrides[now] = ...`)."""
    return now_utc()


NowDep = Annotated[datetime, Depends(now)]
