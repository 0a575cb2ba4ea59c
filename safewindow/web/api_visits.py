"""Visits over the API: book, move, cancel, read one, and the overrides practitioners recorded.

Staff book for any patient, a patient for themselves (another patient's visit is 404). Timing rules are the
clinic's (the knowledge base with the clinic's adjustments). Only a practitioner may send `override_reason`,
as themselves; the booking still checks that they are qualified for the treatment, and that every block is
soft. Any other role sending one is 403.

A refusal is 409 and lists every reason, nothing changed:
    {"detail": [{"field": CODE, "problem": MESSAGE, "kind": "hard"|"soft"|null, "evidence": ..., "source": ...}]}
`field` is what stands in the way: an availability code (`outside-opening-hours`, `clinic-closure`, `too-soon`,
`practitioner-busy`, `room-busy`, `patient-busy`, `dependent-visit`, `visit-not-booked`, `override-not-qualified`,
`hard-rule` ...) or the id of the timing rule, factor or session limit that blocks; `kind`, `evidence` and
`source` are set for timing reasons and null otherwise. A `soft` reason may be overridden by a qualified
practitioner with a written reason; a `hard` one never.

`Idempotency-Key` (POST only): the same key with the same request gets the first answer again, status and
body, with `Idempotent-Replayed: true`, and books nothing; the same key with another request is 422. Keys are
per account and kept for 24 hours; booked (2xx) and refused (409) answers are kept, bad input is not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from safewindow.clock import clinic_zone
from safewindow.domain.rules import Kind
from safewindow.services.accounts import User
from safewindow.services.advice import parse_day
from safewindow.services.booking import Override, Problem, Refused, book, cancel, reschedule
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import InputError
from safewindow.services.idempotency import KeyInUse, claim, record, release, request_digest
from safewindow.services.local_time import parse_local_time
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.records import booked_row, cancelled_row, visit_row
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, ReasonOut, Shape
from safewindow.web.api_sessions import (
    ALLOWED,
    LARGEST_ID,
    NOT_FOUND,
    SIGNED_IN,
    WITH_BODY,
    Id,
    Responses,
    changer,
    found_by_path,
    may_see,
    text,
)
from safewindow.web.auth import STAFF, UserDep, audit_read, require, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["visits"], responses={422: {"model": Problems, "description": "Bad input"}})
ANYONE_SIGNED_IN = tuple(Role)
Changer = Annotated[User, Depends(changer(*ANYONE_SIGNED_IN))]
StaffChanger = Annotated[User, Depends(changer(*STAFF))]
OverrideReader = Annotated[User, Depends(require(Role.PRACTITIONER, Role.CLINIC_ADMIN))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): a retry with the same key gets the first answer, booking once.",
    ),
]


class RefusalItem(Shape):
    field: str = Field(description="An availability code, or the id of the rule, factor or limit that blocks.")
    problem: str
    kind: Kind | None = Field(description="hard: no override; soft: a qualified practitioner may override.")
    evidence: str | None
    source: str | None


class Refusals(Shape):
    detail: list[RefusalItem]


REFUSED: Responses = {409: {"model": Refusals, "description": "Refused, with every reason; nothing was changed"}}


def refusal_body(problems: list[Problem]) -> dict[str, Any]:
    return {
        "detail": [
            {"field": p.code, "problem": p.message, "kind": p.kind, "evidence": p.evidence, "source": p.source}
            for p in problems
        ]
    }


class VisitRow(Shape):
    id: int
    patient: int
    treatment: str
    clinic: int
    practitioner: int
    room: int | None
    device: int | None
    start: datetime = Field(description="The clinic's local time, with its UTC offset.")
    end: datetime
    area: str
    status: models.VisitStatus
    deposit_cents: int = Field(
        description="The deposit the clinic asked to hold the visit when it was booked, in cents; 0: none "
        "(`GET /visits/{visit_id}/deposit`: where it stands)."
    )


class BookedOut(VisitRow):
    warnings: list[ReasonOut] = Field(description="Allowed, but why it is not ideal.")
    overrides: list[str] = Field(description="The soft rules a practitioner overrode for this visit.")


class CancelledOut(Shape):
    id: int
    status: models.VisitStatus


class OverrideRow(Shape):
    id: int
    visit: int
    rule: str
    reason: str
    practitioner: int
    at: datetime


LocalTime = Annotated[str, text(32, 1), Field(description="The clinic's local time, YYYY-MM-DDTHH:MM.")]
Reason = Annotated[str, text(1000, 1), Field(description="Why a soft rule is overridden (practitioners only).")]


class BookIn(Shape):
    patient: Annotated[int, Field(ge=1, le=LARGEST_ID)]
    treatment: Annotated[str, text(64, 1)]
    clinic: Annotated[int, Field(ge=1, le=LARGEST_ID)]
    at: LocalTime
    practitioner: Annotated[int, Field(ge=1, le=LARGEST_ID)] | None = None
    override_reason: Reason | None = None


class OutcomeIn(Shape):
    outcome: Outcome = Field(description="completed: the patient came and was treated; no-show: they did not come.")


class OutcomeOut(Shape):
    id: int
    status: models.VisitStatus
    was: models.VisitStatus
    unsafe: list[RefusalItem] = Field(
        description="Later visits of the patient this outcome makes unsafe (a touch-up after a missed Botox "
        "visit), each with the rule it breaks: move or cancel them."
    )


class RescheduleIn(Shape):
    at: LocalTime
    override_reason: Reason | None = None


def local_time(text: str, zone: ZoneInfo) -> datetime:
    """The clinic's wall-clock time as an instant; its date within the days safewindow works with."""
    parse_day(text.strip()[:10], "at")
    return parse_local_time(text, zone)


def _override(user: User, reason: str | None) -> Override | None:
    """Only a practitioner overrides, and only as themselves; whether they are qualified is the booking's check."""
    if reason is None:
        return None
    if user.role is not Role.PRACTITIONER or user.practitioner_id is None:
        raise HTTPException(
            403, detail=[{"field": "override_reason", "problem": "only a practitioner may override a timing rule"}]
        )
    if not reason.strip():
        raise InputError("override_reason", "an override needs a written reason")
    return Override(reason, user.practitioner_id)


def answer(
    request: Request, user: User, key: str | None, body: Any, change: Callable[[], tuple[int, dict[str, Any]]]
) -> JSONResponse:
    """Run `change` (a 2xx status and body, or Refused), honouring the idempotency key."""
    sessions = store(request)
    if key is None:
        try:
            status, content = change()
        except Refused as refused:
            return JSONResponse(refusal_body(refused.problems), status_code=409)
        return JSONResponse(content, status_code=status)
    try:
        stored = claim(sessions, user.account_id, key, request_digest(request.method, request.url.path, body))
    except KeyInUse:
        problem = Problem("Idempotency-Key", "a request with this key is still being answered; retry in a moment")
        return JSONResponse(refusal_body([problem]), status_code=409)
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
    try:
        status, content = change()
    except Refused as refused:
        status, content = 409, refusal_body(refused.problems)
    except BaseException:
        release(sessions, user.account_id, key)  # nothing happened: the key may be used again
        raise
    record(sessions, user.account_id, key, status, content)
    return JSONResponse(content, status_code=status)


def visible_visit(session: Session, user: User, visit_id: int) -> models.Visit:
    """The visit, if the caller may see it: staff any, a patient their own. 404 alike for both otherwise."""
    visit = session.get(models.Visit, visit_id)
    if visit is None or (user.role is Role.PATIENT and visit.patient_id != user.patient_id):
        raise NotFound("visit", f"no visit {visit_id}")
    return visit


def clinics_of(session: Session, user: User) -> set[int]:
    """The clinics a staff member belongs to: their account's, and for a practitioner wherever they work."""
    clinics = {user.clinic_id} if user.clinic_id is not None else set()
    if user.practitioner_id is not None:
        clinics |= set(
            session.scalars(
                select(models.PractitionerHours.clinic_id).where(
                    models.PractitionerHours.practitioner_id == user.practitioner_id
                )
            )
        )
    return clinics


@router.post(
    "/visits",
    status_code=201,
    response_model=BookedOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Book a visit, if the time is free and safe for the patient",
)
def book_visit(request: Request, body: BookIn, user: Changer, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    override = _override(user, body.override_reason)
    may_see(user, body.patient)
    sessions = store(request)

    def change() -> tuple[int, dict[str, Any]]:
        with UnitOfWork(sessions) as uow:
            zone = clinic_zone(get_clinic(uow.session, body.clinic).time_zone)
        result = book(
            sessions,
            knowledge_base(request),  # the service applies the clinic's rule adjustments
            patient_id=body.patient,
            treatment=body.treatment.strip(),
            clinic_id=body.clinic,
            start=local_time(body.at, zone),
            practitioner_id=body.practitioner,
            actor=user.actor,
            override=override,
        )
        return 201, booked_row(result)

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.get("/visits/{visit_id}", response_model=VisitRow, responses={**SIGNED_IN, **NOT_FOUND}, summary="One visit")
def get_visit(request: Request, visit_id: Id, user: UserDep) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow:
        visit = visible_visit(uow.session, user, visit_id)
        row = visit_row(visit, visit.clinic.time_zone)
        audit_read(uow.session, user, "visit", visit_id)
        uow.commit()
    return JSONResponse(row)


@router.post(
    "/visits/{visit_id}/reschedule",
    response_model=BookedOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Move a booked visit; every other visit of the patient is checked again",
    description="A patient may move their own visit until the clinic's notice for changes made online "
    "(`change_notice_minutes` in its booking policy) before it begins; later, 409 with the problem `change-notice` "
    "and the clinic's telephone number. Staff may move it until it begins.",
)
def reschedule_visit(
    request: Request, visit_id: Id, body: RescheduleIn, user: Changer, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    override = _override(user, body.override_reason)
    sessions = store(request)
    with UnitOfWork(sessions) as uow:
        visit = visible_visit(uow.session, user, visit_id)
        zone = clinic_zone(visit.clinic.time_zone)

    def change() -> tuple[int, dict[str, Any]]:
        start = local_time(body.at, zone)
        with found_by_path():
            result = reschedule(
                sessions,
                knowledge_base(request),
                visit_id=visit_id,
                start=start,
                actor=user.actor,
                override=override,
                by_patient=not user.is_staff,
            )
        return 200, booked_row(result)

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.post(
    "/visits/{visit_id}/cancel",
    response_model=CancelledOut,
    responses={**ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Cancel a booked visit that has not begun",
    description="A patient may cancel their own visit until the clinic's notice for changes made online "
    "(`change_notice_minutes` in its booking policy) before it begins; later, 409 with the problem `change-notice` "
    "and the clinic's telephone number. Staff may cancel it until it begins; the audit log marks it late.",
)
def cancel_visit(request: Request, visit_id: Id, user: Changer, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    sessions = store(request)
    with UnitOfWork(sessions) as uow:
        visible_visit(uow.session, user, visit_id)

    def change() -> tuple[int, dict[str, Any]]:
        with found_by_path():
            cancelled = cancel(
                sessions, knowledge_base(request), visit_id=visit_id, actor=user.actor, by_patient=not user.is_staff
            )
            return 200, cancelled_row(cancelled)

    return answer(request, user, idempotency_key, {}, change)


@router.post(
    "/visits/{visit_id}/outcome",
    response_model=OutcomeOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Record what happened at a visit that has begun: completed or no-show (staff)",
    description="A completed visit counts in the patient's history (timing rules, recalls); a no-show does not, so "
    "later visits that needed it may become unsafe: they are listed in `unsafe`, not refused. A mistaken outcome "
    "may be corrected. 409 for a cancelled visit or one that has not begun.",
)
def visit_outcome(
    request: Request, visit_id: Id, body: OutcomeIn, user: StaffChanger, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    sessions = store(request)
    with UnitOfWork(sessions) as uow:
        visible_visit(uow.session, user, visit_id)

    def change() -> tuple[int, dict[str, Any]]:
        with found_by_path():
            recorded = record_outcome(
                sessions, knowledge_base(request), visit_id=visit_id, outcome=body.outcome, actor=user.actor
            )
        unsafe = refusal_body(list(recorded.unsafe))["detail"]
        return 200, {
            "id": recorded.visit.id,
            "status": str(recorded.visit.status),
            "was": str(recorded.was),
            "unsafe": unsafe,
        }

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


def _override_row(override: models.Override) -> dict[str, Any]:
    return {
        "id": override.id,
        "visit": override.visit_id,
        "rule": override.rule_id,
        "reason": override.reason,
        "practitioner": override.practitioner_id,
        "at": override.at.isoformat(),
    }


@router.get(
    "/visits/{visit_id}/overrides",
    response_model=list[OverrideRow],
    responses={**ALLOWED, **NOT_FOUND},
    summary="The overrides recorded for a visit (practitioners and the clinic's administrator)",
)
def visit_overrides(request: Request, visit_id: Id, user: OverrideReader) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow:
        session = uow.session
        visit = session.get(models.Visit, visit_id)
        if visit is None or visit.clinic_id not in clinics_of(session, user):
            raise NotFound("visit", f"no visit {visit_id}")
        rows = [_override_row(o) for o in sorted(visit.overrides, key=lambda o: o.id)]
        audit_read(session, user, "visit-overrides", visit_id)
        uow.commit()
    return JSONResponse(rows)


@router.get(
    "/overrides",
    response_model=list[OverrideRow],
    responses=ALLOWED,
    summary="Overrides at a clinic, newest first (practitioners and the clinic's administrator)",
)
def clinic_overrides(
    request: Request,
    user: OverrideReader,
    clinic: Annotated[int | None, Query(ge=1, le=LARGEST_ID, description="Default: the caller's clinic.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow:
        session = uow.session
        mine = clinics_of(session, user)
        wanted = clinic if clinic is not None else user.clinic_id
        if wanted is None:
            raise InputError("clinic", "name the clinic")
        if wanted not in mine:
            raise HTTPException(403, detail=[{"field": "clinic", "problem": f"you do not work at clinic {wanted}"}])
        found = session.scalars(
            select(models.Override)
            .join(models.Visit, models.Visit.id == models.Override.visit_id)
            .where(models.Visit.clinic_id == wanted)
            .order_by(models.Override.id.desc())
            .limit(limit)
        )
        rows = [_override_row(o) for o in found]
        audit_read(session, user, "clinic-overrides", wanted)
        uow.commit()
    return JSONResponse(rows)
