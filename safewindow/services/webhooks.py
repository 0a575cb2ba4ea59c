"""Webhooks: a clinic's own systems learn of its visits and recalls.

A clinic admin registers a URL for some of the events `visit.booked`, `visit.rescheduled`, `visit.cancelled`,
`visit.completed`, `visit.no-show` and `recall.due`, and gets its signing secret once. Each event writes one
delivery per subscribed URL in the transaction of the change it reports (`enqueue_visit_event`, called by
notifications.record_visit_change and by outcomes.record_outcome, and `enqueue_recall_due`, called by
notifications.recall_due): it exists if and only if the change was committed. A corrected outcome is an event
of its own: the visit's version orders them.
The worker then sends it as it sends e-mail (claim, send, record; retried with backoff; see safewindow/worker.py)
and logs each attempt with the receiver's status and the first RESPONSE_CHARS characters of its answer.

What a payload carries (BC PIPA: no more than a receiver needs to act): the event, its stable id, when it
happened, and ids and times: clinic, visit and its version, patient, practitioner, start and end (and the former
start of a moved visit), or the day a recall is due. The one health detail is the treatment's slug, because a
booking system cannot place a visit without knowing what it is. No name, e-mail, phone, birth date, factor,
history, note or override: a receiver that needs them asks the FHIR API with its own credentials.

Signing: `X-Safewindow-Timestamp: <unix seconds>` and `X-Safewindow-Signature: sha256=<hex>`, the HMAC-SHA256,
under the endpoint's secret, of the timestamp, a full stop and the raw body (`f"{t}.".encode() + body`). The
timestamp is inside the signature, or a replayed body could carry a fresh one; a receiver refuses a timestamp
older than five minutes (`verify`). Deliveries of one visit may arrive out of order: the visit's version orders
them. A receiver should answer 2xx quickly; anything else is retried, except 410 Gone, which stops them."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time as clock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

import safewindow
from safewindow.clock import now_utc
from safewindow.services.attempts import begin_attempt
from safewindow.services.clinic_setup import clinic_setup
from safewindow.services.errors import InputError, NotFound
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.store.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

VISIT_EVENTS = {
    "booked": "visit.booked",
    "rescheduled": "visit.rescheduled",
    "cancelled": "visit.cancelled",
    # What happened, as staff record it (services/outcomes.py): billing and follow-up systems act on these.
    "completed": "visit.completed",
    "no-show": "visit.no-show",
}
RECALL_DUE = "recall.due"
EVENTS = (*VISIT_EVENTS.values(), RECALL_DUE)
SIGNATURE_HEADER = "X-Safewindow-Signature"
TIMESTAMP_HEADER = "X-Safewindow-Timestamp"
EVENT_HEADER = "X-Safewindow-Event"
EVENT_ID_HEADER = "X-Safewindow-Event-Id"
DELIVERY_HEADER = "X-Safewindow-Delivery"
TOLERANCE = timedelta(minutes=5)
RESPONSE_CHARS = 1000
ERROR_CHARS = 500
MAX_URL = 2000
BATCH = 100


class WebhookSettings(BaseSettings):
    """SAFEWINDOW_WEBHOOK_ALLOW_LOCAL=true lets endpoints use http and private, loopback or link-local addresses
    (development and tests); otherwise only https to public addresses, so an admin's URL cannot reach into the
    clinic's own network. SAFEWINDOW_WEBHOOK_TIMEOUT: seconds per attempt."""

    model_config = SettingsConfigDict(env_prefix="SAFEWINDOW_WEBHOOK_", extra="ignore")

    allow_local: bool = False
    timeout: float = 10.0


# --- Endpoints -----------------------------------------------------------------------------------------------


def _not_public(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return host.lower() == "localhost" or host.lower().endswith(".localhost")


def check_url(url: str, settings: WebhookSettings) -> str:
    url = url.strip()
    if len(url) > MAX_URL:
        raise InputError("url", f"use at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise InputError("url", "is not a URL") from None
    schemes = ("https", "http") if settings.allow_local else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InputError("url", "must be an https:// URL")
    if parts.username or parts.password or parts.fragment:
        raise InputError("url", "must not carry a user name, password or #fragment (the signature proves the sender)")
    if not settings.allow_local and _not_public(parts.hostname):
        raise InputError("url", "must reach a public address")
    return url


def check_events(events: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(e.strip() for e in events))
    if not chosen:
        raise InputError("events", f"choose at least one of {', '.join(EVENTS)}")
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise InputError("events", f"unknown event {unknown[0]!r}; choose from {', '.join(EVENTS)}")
    return chosen


@dataclass(frozen=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str  # shown to the admin once


def register(
    session: Session,
    *,
    clinic_id: int,
    url: str,
    events: Sequence[str],
    actor: str,
    description: str = "",
    settings: WebhookSettings | None = None,
) -> Registered:
    """A new endpoint with a new secret; audited. The caller commits."""
    settings = settings or WebhookSettings()
    if session.get(models.Clinic, clinic_id) is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    endpoint = WebhookEndpoint(
        clinic_id=clinic_id,
        url=check_url(url, settings),
        events=check_events(events),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        description=description.strip()[:200],
        created_by=actor,
    )
    session.add(endpoint)
    session.flush()
    _audit(session, actor, "webhook.created", endpoint)
    return Registered(endpoint, endpoint.secret)


def endpoint_of(session: Session, clinic_id: int, endpoint_id: int) -> WebhookEndpoint:
    """The clinic's live endpoint; another clinic's is 'not found' like one that never was."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.clinic_id != clinic_id or endpoint.deleted_at is not None:
        raise NotFound("webhook", f"no webhook {endpoint_id}")
    return endpoint


def remove(session: Session, *, clinic_id: int, endpoint_id: int, actor: str, now: datetime | None = None) -> None:
    """Nothing more goes to it, pending deliveries included; its log stays. The caller commits."""
    endpoint = endpoint_of(session, clinic_id, endpoint_id)
    endpoint.deleted_at = now or now_utc()
    _audit(session, actor, "webhook.deleted", endpoint)


def deliveries_of(session: Session, clinic_id: int, endpoint_id: int, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries with their attempts, newest first."""
    endpoint = endpoint_of(session, clinic_id, endpoint_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .options(selectinload(WebhookDelivery.attempt_log))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def _audit(session: Session, actor: str, action: str, endpoint: WebhookEndpoint) -> None:
    session.add(
        models.AuditEntry(
            actor=actor,
            action=action,
            entity="webhook",
            entity_id=str(endpoint.id),
            detail={"clinic_id": endpoint.clinic_id, "events": list(endpoint.events)},
        )
    )


# --- Events, in the caller's transaction --------------------------------------------------------------------


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _enqueue(
    session: Session, clinic_id: int, event: str, event_id: str, data: dict[str, Any], now: datetime
) -> list[WebhookDelivery]:
    # The clinic's setup holds its endpoints, so a booking at a clinic without any asks nothing more.
    subscribed = [endpoint for endpoint, events in clinic_setup(session, clinic_id).webhooks if event in events]
    if not subscribed:
        return []
    known = set(
        session.scalars(
            select(WebhookDelivery.endpoint_id).where(
                WebhookDelivery.event_id == event_id, WebhookDelivery.endpoint_id.in_(subscribed)
            )
        )
    )
    body = {"id": event_id, "type": event, "occurred_at": _instant(now), "clinic_id": clinic_id, "data": data}
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True)
    fresh = [
        WebhookDelivery(endpoint_id=endpoint, event=event, event_id=event_id, payload=payload, due_at=now)
        for endpoint in subscribed
        if endpoint not in known
    ]
    session.add_all(fresh)
    session.flush()
    return fresh


def enqueue_visit_event(
    session: Session, visit: models.Visit, event: str, *, now: datetime | None = None, was: datetime | None = None
) -> list[WebhookDelivery]:
    """`event`: booked | rescheduled | cancelled | completed | no-show, after the change's flush (the version
    names the event)."""
    name = VISIT_EVENTS[event]
    data: dict[str, Any] = {
        "visit_id": visit.id,
        "version": visit.version,
        "status": str(visit.status),
        "patient_id": visit.patient_id,
        "practitioner_id": visit.practitioner_id,
        "treatment": visit.treatment_slug,
        "start": _instant(visit.start_at),
        "end": _instant(visit.end_at),
    }
    if was is not None:
        data["previous_start"] = _instant(was)
    event_id = f"visit-{visit.id}-v{visit.version}-{event}"
    return _enqueue(session, visit.clinic_id, name, event_id, data, now or now_utc())


def enqueue_recall_due(
    session: Session, *, patient_id: int, clinic_id: int, treatment_slug: str, due_on: date, now: datetime | None = None
) -> list[WebhookDelivery]:
    data = {"patient_id": patient_id, "treatment": treatment_slug, "due_on": due_on.isoformat()}
    event_id = f"recall-{patient_id}-{treatment_slug}-{due_on.isoformat()}"
    return _enqueue(session, clinic_id, RECALL_DUE, event_id, data, now or now_utc())


# --- Signatures ---------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: datetime | None = None, tolerance: timedelta = TOLERANCE
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (a replay is refused)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp, given = lowered.get(TIMESTAMP_HEADER.lower(), ""), lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit():
        return False
    age = abs((now or now_utc()).timestamp() - int(stamp))
    return age <= tolerance.total_seconds() and hmac.compare_digest(sign(secret, int(stamp), body), given)


# --- Delivery, by the worker --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    event: str
    event_id: str
    payload: str
    url: str
    secret: str
    attempts: int
    endpoint_id: int


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None
    body: str | None
    error: str | None
    duration_ms: int
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class WebhookReport:
    delivered: int = 0
    failed: int = 0  # will be retried
    gave_up: int = 0
    discarded: int = 0  # the endpoint was removed
    in_doubt: int = 0


def _due(session_factory: sessionmaker[Session], now: datetime, batch: int) -> list[int]:
    with UnitOfWork(session_factory) as uow:
        return list(
            uow.session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.delivered_at.is_(None),
                    WebhookDelivery.gave_up_at.is_(None),
                    WebhookDelivery.due_at <= now,
                )
                .order_by(WebhookDelivery.due_at, WebhookDelivery.id)
                .limit(batch)
            )
        )


def _claim(
    session_factory: sessionmaker[Session],
    delivery_id: int,
    now: datetime,
    backoff: Callable[[int], timedelta],
    report: WebhookReport,
) -> Claimed | None:
    with UnitOfWork(session_factory, write=True) as uow:
        row = uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if row is None or row.delivered_at is not None or row.gave_up_at is not None or row.due_at > now:
            return None  # another worker has it
        endpoint = uow.session.get(WebhookEndpoint, row.endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            row.gave_up_at, row.last_error = now, "the endpoint was removed"
            uow.commit()
            report.discarded += 1
            return None
        report.in_doubt += begin_attempt(row, now, backoff, "webhook delivery")
        claimed = Claimed(
            row.id, row.event, row.event_id, row.payload, endpoint.url, endpoint.secret, row.attempts, endpoint.id
        )
        uow.commit()
        return claimed


def _refused_destination(url: str, settings: WebhookSettings) -> str | None:
    """Checked again at each send, since a name can point elsewhere after registration."""
    if settings.allow_local:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)}
    except OSError:
        return None  # the name does not resolve now: the send fails and is retried
    if any(_not_public(str(address)) for address in addresses):
        return "the URL leads to an address that is not public"
    return None


def _send(client: httpx.Client, claimed: Claimed, now: datetime, settings: WebhookSettings) -> Answer:
    refused = _refused_destination(claimed.url, settings)
    if refused is not None:
        return Answer(None, None, refused, 0, permanent=True)
    body = claimed.payload.encode()
    stamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"safewindow-webhooks/{safewindow.__version__}",
        EVENT_HEADER: claimed.event,
        EVENT_ID_HEADER: claimed.event_id,
        DELIVERY_HEADER: str(claimed.id),
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(claimed.secret, stamp, body),
    }
    started = clock.monotonic()
    try:
        response = client.post(claimed.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        spent = int((clock.monotonic() - started) * 1000)
        return Answer(None, None, f"{type(error).__name__}: {error}"[:ERROR_CHARS], spent)
    spent = int((clock.monotonic() - started) * 1000)
    # 410 Gone: the receiver says this endpoint is no more; retrying would not change its mind.
    return Answer(response.status_code, response.text[:RESPONSE_CHARS], None, spent, response.status_code == 410)


def _record(
    session_factory: sessionmaker[Session], claimed: Claimed, now: datetime, answer: Answer, max_attempts: int
) -> str:
    with UnitOfWork(session_factory, write=True) as uow:
        row = uow.session.get(WebhookDelivery, claimed.id, with_for_update=True)
        if row is None:
            return "delivered" if answer.delivered else "failed"
        uow.session.add(
            WebhookAttempt(
                delivery_id=row.id,
                attempt=claimed.attempts,
                at=now,
                status=answer.status,
                response_body=answer.body,
                error=answer.error,
                duration_ms=answer.duration_ms,
            )
        )
        row.claimed_at, row.last_status = None, answer.status
        if answer.delivered:
            row.delivered_at, row.last_error = now, None
            outcome = "delivered"
        else:
            row.last_error = answer.error or f"the receiver answered {answer.status}"
            gave_up = answer.permanent or claimed.attempts >= max_attempts
            row.gave_up_at = now if gave_up else None
            outcome = "gave_up" if gave_up else "failed"
        uow.commit()
        return outcome


def deliver_due(
    session_factory: sessionmaker[Session],
    now: datetime,
    *,
    backoff: Callable[[int], timedelta],
    max_attempts: int,
    client: httpx.Client | None = None,
    settings: WebhookSettings | None = None,
    batch: int = BATCH,
) -> WebhookReport:
    """Send what is due at `now`, each delivery claimed, sent and recorded on its own. Logs name delivery and
    endpoint ids, attempts and statuses only: never a URL, secret or payload."""
    settings = settings or WebhookSettings()
    report = WebhookReport()
    due = _due(session_factory, now, batch)
    if not due:
        return report
    own = client is None
    http = client or httpx.Client(timeout=settings.timeout, follow_redirects=False)
    try:
        for delivery_id in due:
            claimed = _claim(session_factory, delivery_id, now, backoff, report)
            if claimed is None:
                continue
            answer = _send(http, claimed, now, settings)
            if not answer.delivered:
                log.warning(
                    "webhook delivery %s to endpoint %s: attempt %s failed (%s)",
                    claimed.id,
                    claimed.endpoint_id,
                    claimed.attempts,
                    answer.status or (answer.error or "").split(":")[0],
                )
            outcome = _record(session_factory, claimed, now, answer, max_attempts)
            setattr(report, outcome, getattr(report, outcome) + 1)
    finally:
        if own:
            http.close()
    return report
