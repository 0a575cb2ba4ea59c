"""Calendar files (RFC 5545): an invitation for one visit, and subscription feeds behind revocable tokens.

An event says what a calendar needs and no more: the treatment's name, the clinic and its address, the time in
UTC. Its UID is stable per visit and its SEQUENCE follows the visit's version, so a moved or cancelled visit
updates the event a calendar already holds instead of adding another. Feeds end up in calendar services the
clinic does not control, so a practitioner's feed names no patient: the visit number leads back to the chart.
Only a SHA-256 of a feed's token is stored; whoever has the link sees the feed, until it is revoked."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from safewindow.clock import now_utc
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.accounts import token_digest
from safewindow.services.errors import NotFound
from safewindow.store import models
from safewindow.store.outbox_models import CalendarFeed, OwnerKind

PRODID = "-//safewindow//safewindow visits//EN"
UID_DOMAIN = "safewindow"
FEED_PAST = timedelta(days=90)
FEED_AHEAD = timedelta(days=366)


class Method(StrEnum):
    """iTIP (RFC 5546): REQUEST adds or updates the event, CANCEL removes it."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class CalendarVisit:
    id: int
    version: int
    start: datetime
    end: datetime
    treatment: str  # the treatment's name
    clinic: str
    address: str
    cancelled: bool = False
    attendee: str | None = None  # the patient's e-mail, for an invitation sent to them


@dataclass(frozen=True, slots=True)
class FeedOwner:
    kind: OwnerKind
    id: int


def calendar_visit(visit: models.Visit, kb: KnowledgeBase, *, with_attendee: bool = False) -> CalendarVisit:
    treatment = kb.treatments.get(visit.treatment_slug)
    return CalendarVisit(
        id=visit.id,
        version=visit.version,
        start=visit.start_at,
        end=visit.end_at,
        treatment=treatment.name if treatment else visit.treatment_slug,
        clinic=visit.clinic.name,
        address=visit.clinic.address,
        cancelled=visit.status is models.VisitStatus.CANCELLED,
        attendee=(visit.patient.email or None) if with_attendee else None,
    )


def visit_uid(visit_id: int) -> str:
    return f"visit-{visit_id}@{UID_DOMAIN}"


def _calendar(method: Method | None = None, name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method is not None:
        calendar.add("method", str(method))
    if name is not None:
        calendar.add("x-wr-calname", name)
    return calendar


def _event(visit: CalendarVisit, summary: str, stamp: datetime, cancelled: bool) -> Event:
    event = Event()
    event.add("uid", visit_uid(visit.id))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", max(visit.version - 1, 0))
    event.add("dtstart", visit.start.astimezone(UTC))
    event.add("dtend", visit.end.astimezone(UTC))
    event.add("summary", summary)
    event.add("location", f"{visit.clinic}, {one_line(visit.address)}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def one_line(address: str) -> str:
    """An address written on several lines, for a calendar's location or a sentence: Unit 5, 100 Main Street."""
    return ", ".join(line.strip() for line in address.splitlines() if line.strip())


def invitation(visit: CalendarVisit, method: Method, *, organizer: str, stamp: datetime) -> bytes:
    """The .ics attached to a confirmation (REQUEST) or a cancellation (CANCEL). `organizer` is the address
    the e-mail comes from; the patient is the attendee, asked for no reply."""
    event = _event(visit, f"{visit.treatment} at {visit.clinic}", stamp, cancelled=method is Method.CANCEL)
    by = vCalAddress(f"mailto:{organizer}")
    by.params["CN"] = visit.clinic
    event.add("organizer", by)
    if visit.attendee:
        event.add(
            "attendee",
            f"mailto:{visit.attendee}",
            parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"},
        )
    calendar = _calendar(method)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def feed(name: str, visits: Iterable[CalendarVisit], *, stamp: datetime, for_practitioner: bool = False) -> bytes:
    calendar = _calendar(name=name)
    for visit in visits:
        at = f"(visit {visit.id})" if for_practitioner else f"at {visit.clinic}"
        summary = f"{visit.treatment} {at}"
        calendar.add_component(_event(visit, summary, stamp, visit.cancelled))
    return bytes(calendar.to_ical())


def _owner_exists(session: Session, owner: FeedOwner) -> bool:
    model = models.Patient if owner.kind is OwnerKind.PATIENT else models.Practitioner
    return session.get(model, owner.id) is not None


def issue_feed_token(session: Session, owner: FeedOwner) -> str:
    """A new feed link's secret, returned once; the caller commits."""
    if not _owner_exists(session, owner):
        raise NotFound(str(owner.kind), f"no {owner.kind} {owner.id}")
    token = secrets.token_urlsafe(32)
    session.add(CalendarFeed(owner_kind=str(owner.kind), owner_id=owner.id, token_hash=token_digest(token)))
    session.flush()
    return token


def _live(session: Session, token: str) -> CalendarFeed | None:
    return session.scalar(
        select(CalendarFeed).where(CalendarFeed.token_hash == token_digest(token), CalendarFeed.revoked_at.is_(None))
    )


def resolve_feed_token(session: Session, token: str) -> FeedOwner | None:
    found = _live(session, token)
    return None if found is None else FeedOwner(OwnerKind(found.owner_kind), found.owner_id)


def revoke_feed_token(session: Session, token: str, now: datetime | None = None) -> bool:
    """True when a live feed was revoked; the caller commits."""
    found = _live(session, token)
    if found is None:
        return False
    found.revoked_at = now or now_utc()
    return True


def revoke_feeds_of(session: Session, owner: FeedOwner, now: datetime | None = None) -> int:
    feeds = session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.owner_kind == str(owner.kind),
            CalendarFeed.owner_id == owner.id,
            CalendarFeed.revoked_at.is_(None),
        )
    ).all()
    for row in feeds:
        row.revoked_at = now or now_utc()
    return len(feeds)


def feed_for(session: Session, owner: FeedOwner, kb: KnowledgeBase, now: datetime | None = None) -> bytes:
    """The owner's booked and completed visits from three months back to a year ahead."""
    now = now or now_utc()
    column = models.Visit.patient_id if owner.kind is OwnerKind.PATIENT else models.Visit.practitioner_id
    visits = session.scalars(
        select(models.Visit)
        .options(selectinload(models.Visit.clinic))
        .where(
            column == owner.id,
            models.Visit.status.in_(models.ACTIVE_STATUSES),
            models.Visit.start_at >= now - FEED_PAST,
            models.Visit.start_at < now + FEED_AHEAD,
        )
        .order_by(models.Visit.start_at, models.Visit.id)
    ).all()
    return feed(
        "Visits",
        (calendar_visit(v, kb) for v in visits),
        stamp=now,
        for_practitioner=owner.kind is OwnerKind.PRACTITIONER,
    )
