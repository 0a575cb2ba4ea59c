"""How other systems follow a clinic's visits: calendar files and feeds (RFC 5545), and webhooks.

- `GET /visits/{id}/calendar.ics`: one visit, for the patient or staff (a chart read, audited).
- `GET /calendar/feeds/{token}.ics`: a subscription. The token is the only key, because calendar apps cannot
  sign in; it is shown once, kept only as a digest, and revocable (services/calendar_files.py).
- `POST /api/v1/calendar/feeds` issues a feed for the signed-in patient or practitioner; `DELETE
  /api/v1/calendar/feeds/{token}` revokes one, `DELETE /api/v1/calendar/feeds` all of theirs.
- `POST | GET /api/v1/webhooks`, `DELETE /api/v1/webhooks/{id}`, `GET /api/v1/webhooks/{id}/deliveries`: a
  clinic admin's webhooks for their own clinic (services/webhooks.py); the secret is shown once, at creation.

The API routes are left out of the OpenAPI document for now (include_in_schema=False): the document's route list
is pinned by tests/web/test_openapi_schemathesis.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from safewindow.services import webhooks
from safewindow.services.accounts import User
from safewindow.services.calendar_files import (
    FeedOwner,
    calendar_visit,
    feed,
    feed_for,
    issue_feed_token,
    resolve_feed_token,
    revoke_feed_token,
    revoke_feeds_of,
)
from safewindow.services.clinic_setup import endpoints_of
from safewindow.services.errors import NotFound as ServiceNotFound
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.outbox_models import OwnerKind
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.store.webhook_models import WebhookDelivery, WebhookEndpoint
from safewindow.web.auth import UserDep, audit_read, check_csrf, may_see_patient, require, store
from safewindow.web.dependencies import NowDep, knowledge_base
from safewindow.web.errors import NotFound

router = APIRouter(include_in_schema=False)
CALENDAR = "text/calendar; charset=utf-8"
MAX_TOKEN = 128


@router.get("/visits/{visit_id}/calendar.ics")
def visit_calendar(request: Request, visit_id: int, user: UserDep, at: NowDep) -> Response:
    """The visit as a calendar file; a cancelled visit's says so, and replaces the event a calendar holds."""
    with UnitOfWork(store(request), write=True) as uow:
        visit = uow.session.get(models.Visit, visit_id)
        if visit is None:
            raise NotFound("visit", f"no visit {visit_id}")
        may_see_patient(user, visit.patient_id)
        audit_read(uow.session, user, "visit", visit.id)
        event = calendar_visit(visit, knowledge_base(request))
        body = feed(f"{event.treatment} at {event.clinic}", [event], stamp=at)
        uow.commit()
    disposition = f'attachment; filename="visit-{visit_id}.ics"'
    return Response(body, media_type=CALENDAR, headers={"Content-Disposition": disposition})


@router.get("/calendar/feeds/{token}.ics")
def calendar_feed(request: Request, token: str, at: NowDep) -> Response:
    """Whoever has the link sees the feed until it is revoked; a revoked or unknown token is 404."""
    with UnitOfWork(store(request)) as uow:
        owner = resolve_feed_token(uow.session, token) if len(token) <= MAX_TOKEN else None
        if owner is None:
            raise NotFound("token", "no such calendar feed; it may have been revoked")
        body = feed_for(uow.session, owner, knowledge_base(request), now=at)
    return Response(body, media_type=CALENDAR)


def _feed_owner(user: User) -> FeedOwner:
    if user.role is Role.PATIENT and user.patient_id is not None:
        return FeedOwner(OwnerKind.PATIENT, user.patient_id)
    if user.role is Role.PRACTITIONER and user.practitioner_id is not None:
        return FeedOwner(OwnerKind.PRACTITIONER, user.practitioner_id)
    raise HTTPException(403, "only patients and practitioners have a calendar feed")


def _audit_feed(uow: UnitOfWork, user: User, action: str, owner: FeedOwner, **detail: Any) -> None:
    uow.session.add(
        models.AuditEntry(
            actor=user.actor,
            action=action,
            entity="calendar-feed",
            entity_id=f"{owner.kind}:{owner.id}",
            detail=detail,
        )
    )


@router.post("/api/v1/calendar/feeds", status_code=201)
def issue_feed(request: Request, user: UserDep) -> JSONResponse:
    """A new feed link for the signed-in patient or practitioner, shown once."""
    check_csrf(request, user)
    owner = _feed_owner(user)
    with UnitOfWork(store(request), write=True) as uow:
        token = issue_feed_token(uow.session, owner)
        _audit_feed(uow, user, "calendar-feed.issued", owner)
        uow.commit()
    url = f"{str(request.base_url).rstrip('/')}/calendar/feeds/{token}.ics"
    webcal = "webcal://" + url.split("://", 1)[1]
    return JSONResponse({"url": url, "webcal": webcal, "token": token}, status_code=201)


@router.delete("/api/v1/calendar/feeds/{token}", status_code=204)
def revoke_feed(request: Request, token: str, user: UserDep) -> Response:
    """Revoke one of the signed-in user's feeds; anyone else's, or an unknown one, is 404."""
    check_csrf(request, user)
    owner = _feed_owner(user)
    with UnitOfWork(store(request), write=True) as uow:
        found = resolve_feed_token(uow.session, token) if len(token) <= MAX_TOKEN else None
        if found != owner:
            raise NotFound("token", "no such calendar feed of yours")
        revoke_feed_token(uow.session, token)
        _audit_feed(uow, user, "calendar-feed.revoked", owner)
        uow.commit()
    return Response(status_code=204)


@router.delete("/api/v1/calendar/feeds")
def revoke_all_feeds(request: Request, user: UserDep) -> JSONResponse:
    check_csrf(request, user)
    owner = _feed_owner(user)
    with UnitOfWork(store(request), write=True) as uow:
        revoked = revoke_feeds_of(uow.session, owner)
        _audit_feed(uow, user, "calendar-feed.revoked", owner, count=revoked)
        uow.commit()
    return JSONResponse({"revoked": revoked})


# --- Webhooks: a clinic admin's, for their own clinic ------------------------------------------------------

webhooks_router = APIRouter(prefix="/api/v1/webhooks", include_in_schema=False)
AdminDep = Annotated[User, Depends(require(Role.CLINIC_ADMIN))]


class WebhookIn(BaseModel):
    url: str = Field(max_length=webhooks.MAX_URL, examples=["https://crm.example/hooks/safewindow"])
    events: list[str] = Field(min_length=1, max_length=len(webhooks.EVENTS), examples=[["visit.booked"]])
    description: str = Field(default="", max_length=200)


def _clinic_of(user: User) -> int:
    if user.clinic_id is None:
        raise HTTPException(403, "this account belongs to no clinic")
    return user.clinic_id


def _endpoint_row(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "created_at": endpoint.created_at.isoformat(),
    }


def _delivery_row(delivery: WebhookDelivery) -> dict[str, Any]:
    def instant(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {
        "id": delivery.id,
        "event": delivery.event,
        "event_id": delivery.event_id,
        "attempts": delivery.attempts,
        "delivered_at": instant(delivery.delivered_at),
        "gave_up_at": instant(delivery.gave_up_at),
        "next_attempt_at": None if delivery.delivered_at or delivery.gave_up_at else instant(delivery.due_at),
        "last_status": delivery.last_status,
        "log": [
            {
                "attempt": a.attempt,
                "at": instant(a.at),
                "status": a.status,
                "response_body": a.response_body,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_log
        ],
    }


@webhooks_router.post("", status_code=201)
def create_webhook(request: Request, body: WebhookIn, user: AdminDep) -> JSONResponse:
    check_csrf(request, user)
    clinic_id = _clinic_of(user)
    with UnitOfWork(store(request), write=True) as uow:
        made = webhooks.register(
            uow.session,
            clinic_id=clinic_id,
            url=body.url,
            events=body.events,
            actor=user.actor,
            description=body.description,
        )
        uow.commit()
    # The secret now, and never again: store it where the receiver checks signatures.
    return JSONResponse({**_endpoint_row(made.endpoint), "secret": made.secret}, status_code=201)


@webhooks_router.get("")
def list_webhooks(request: Request, user: AdminDep) -> JSONResponse:
    with UnitOfWork(store(request)) as uow:
        return JSONResponse([_endpoint_row(e) for e in endpoints_of(uow.session, _clinic_of(user))])


def _or_404(error: ServiceNotFound) -> NotFound:
    return NotFound(error.field, error.problem)


@webhooks_router.get("/{endpoint_id}/deliveries")
def webhook_deliveries(request: Request, endpoint_id: int, user: AdminDep) -> JSONResponse:
    """The latest 50 deliveries, newest first, each with its attempts and the receiver's answers."""
    with UnitOfWork(store(request)) as uow:
        try:
            found = webhooks.deliveries_of(uow.session, _clinic_of(user), endpoint_id)
        except ServiceNotFound as error:
            raise _or_404(error) from None
        return JSONResponse([_delivery_row(d) for d in found])


@webhooks_router.delete("/{endpoint_id}", status_code=204)
def delete_webhook(request: Request, endpoint_id: int, user: AdminDep) -> Response:
    check_csrf(request, user)
    with UnitOfWork(store(request), write=True) as uow:
        try:
            webhooks.remove(uow.session, clinic_id=_clinic_of(user), endpoint_id=endpoint_id, actor=user.actor)
        except ServiceNotFound as error:
            raise _or_404(error) from None
        uow.commit()
    return Response(status_code=204)
