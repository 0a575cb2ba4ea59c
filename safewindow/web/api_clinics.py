"""Clinics over the API. Public: the clinics, their practitioners, opening hours, closures, timing rules (the
knowledge base with the clinic's adjustments) and bookable slots. The clinic's administrator, for their own
clinic only (another clinic is 403): opening hours, closures, who works there and when, rule adjustments.

A practitioner's time off (at every clinic where they work, since it is theirs) is read by the clinic's staff
only, since its reason is staff-only, and changed by the clinic's administrator.

Slots are rule-aware for a patient (`patient=`) only when the caller may see that patient: staff any, a patient
themselves (another patient is 404, as everywhere); without signing in, `patient` is 401 and slots come without
it. A change that would strand a booked visit (new hours, a closure, time off, a practitioner leaving) is 409
listing the visits, in the shape of booking refusals."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from safewindow.clock import now_utc
from safewindow.domain.rules import Kind
from safewindow.services.accounts import User
from safewindow.services.admin import (
    Shift,
    add_closure,
    adjust_rule,
    closures,
    knowledge_for_clinic,
    leave_clinic,
    opening_hours,
    remove_closure,
    rule_adjustments,
    set_opening_hours,
    set_working_hours,
    working_hours,
)
from safewindow.services.advice import parse_day
from safewindow.services.booking import Refused
from safewindow.services.catalogue import rule_as_dict
from safewindow.services.clinic_view import get_clinic
from safewindow.services.records import clinic_row, clinic_rows, practitioner_rows
from safewindow.services.slots import find_slots_for
from safewindow.services.time_off import (
    add_local_time_off,
    clinic_of,
    remove_time_off,
    time_off_row,
    upcoming_time_off,
)
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import IntervalRuleRow, Problems, ReasonOut, RulesOut, SessionLimitRow, Shape
from safewindow.web.api_sessions import (
    ALLOWED,
    LARGEST_ID,
    NOT_FOUND,
    SIGNED_IN,
    WITH_BODY,
    Id,
    changer,
    found_by_path,
    may_see,
    text,
)
from safewindow.web.api_visits import REFUSED, refusal_body
from safewindow.web.auth import OptionalUserDep, StaffDep, require, store
from safewindow.web.dependencies import knowledge_base

router = APIRouter(prefix="/api/v1", tags=["clinics"], responses={422: {"model": Problems, "description": "Bad input"}})
Admin = Annotated[User, Depends(changer(Role.CLINIC_ADMIN))]
AdminReader = Annotated[User, Depends(require(Role.CLINIC_ADMIN))]
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
RuleId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class ClinicRow(Shape):
    id: int
    slug: str
    name: str
    address: str
    phone: str | None
    time_zone: str
    open_on_holidays: bool


class PractitionerRow(Shape):
    id: int
    name: str
    qualifications: list[str]
    permissions: list[str] = Field(description="What the qualifications allow in their own right, e.g. may-inject.")
    on_order: list[str] = Field(
        description="What they may do only on an authorized prescriber's client-specific order for the patient."
    )


class SlotRow(Shape):
    start: str = Field(description="The clinic's local time, with its UTC offset.")
    end: str
    practitioner: int
    practitioner_name: str
    room: int | None
    device: int | None
    fit: str | None = Field(description="ideal | allowed for the patient's timing rules; null without a patient.")
    warnings: list[ReasonOut]


Clock = Annotated[str, Field(pattern=CLOCK.pattern, description="Local wall-clock time, HH:MM.")]


class ShiftRow(Shape):
    weekday: Annotated[int, Field(ge=0, le=6, description="Monday is 0, Sunday 6.")]
    start: Clock
    end: Clock


class WeeklyHoursIn(Shape):
    hours: Annotated[list[ShiftRow], Field(max_length=50)]


class ClosureRow(Shape):
    id: int
    first_day: str
    last_day: str
    reason: str


class ClosureIn(Shape):
    first_day: Annotated[str, text(10, 1), Field(description="YYYY-MM-DD, the clinic's calendar day.")]
    last_day: Annotated[str, text(10, 1), Field(description="YYYY-MM-DD, inclusive.")]
    reason: Annotated[str, text(200, 1)]


class TimeOffRow(Shape):
    id: int
    start: str = Field(description="The clinic's local time, with its UTC offset.")
    end: str = Field(description="Exclusive: the first moment they are back.")
    reason: str = Field(description="Staff only.")


class TimeOffIn(Shape):
    """Whole days unless times are given: from `start_time` on the first day (else its midnight) until
    `end_time` on the last day (else the midnight after it)."""

    first_day: Annotated[str, text(10, 1), Field(description="YYYY-MM-DD, the clinic's calendar day.")]
    last_day: Annotated[str, text(10, 1), Field(description="YYYY-MM-DD, inclusive.")]
    start_time: Clock | None = None
    end_time: Clock | None = None
    reason: Annotated[str, text(200)] = ""


SpanOrNumber = Annotated[str, text(32, 1)] | Annotated[int, Field(ge=0, le=100_000)]


class RuleChangeIn(Shape):
    """The fields to change; a span is days ('21', '21 days') or months ('2 months')."""

    min: SpanOrNumber | None = None
    ideal_start: SpanOrNumber | None = None
    ideal_end: SpanOrNumber | None = None
    kind: Kind | None = None
    max_sessions: Annotated[int, Field(ge=0, le=100_000)] | None = None


class RuleAdjustmentRow(Shape):
    id: int
    clinic: int
    rule: str
    field: str
    before: str
    after: str
    by: str
    at: str


def administers(user: User, clinic_id: int) -> None:
    if user.clinic_id != clinic_id:
        raise HTTPException(
            403, detail=[{"field": "clinic", "problem": f"you administer clinic {user.clinic_id}, not {clinic_id}"}]
        )


def _staff_of(user: User, clinic_id: int) -> None:
    """A staff member with a home clinic works with that clinic only (and without one, with every clinic, as the
    staff pages have it)."""
    if user.clinic_id is not None and user.clinic_id != clinic_id:
        raise HTTPException(
            403, detail=[{"field": "clinic", "problem": f"you work at clinic {user.clinic_id}, not {clinic_id}"}]
        )


def _shifts(rows: list[ShiftRow]) -> list[Shift]:
    return [Shift(r.weekday, time.fromisoformat(r.start), time.fromisoformat(r.end)) for r in rows]


def _clock(text: str | None) -> time | None:
    return None if text is None else time.fromisoformat(text)


def _shift_rows(shifts: list[Shift]) -> list[dict[str, object]]:
    return [s.as_dict() for s in shifts]


def _closure_row(closure: models.ClinicClosure) -> dict[str, Any]:
    return {
        "id": closure.id,
        "first_day": closure.first_day.isoformat(),
        "last_day": closure.last_day.isoformat(),
        "reason": closure.reason,
    }


def _refused(refused: Refused) -> JSONResponse:
    return JSONResponse(refusal_body(refused.problems), status_code=409)


@router.get("/clinics", response_model=list[ClinicRow], summary="The clinics")
def list_clinics(request: Request) -> JSONResponse:
    with UnitOfWork(store(request)) as uow:
        return JSONResponse(clinic_rows(uow.session))


@router.get("/clinics/{clinic_id}", response_model=ClinicRow, responses=NOT_FOUND, summary="One clinic")
def one_clinic(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        return JSONResponse(clinic_row(get_clinic(uow.session, clinic_id)))


@router.get(
    "/clinics/{clinic_id}/practitioners",
    response_model=list[PractitionerRow],
    responses=NOT_FOUND,
    summary="Who works at the clinic, with their qualifications and what those allow",
)
def clinic_practitioners(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        return JSONResponse(practitioner_rows(uow.session, clinic_id))


@router.get(
    "/clinics/{clinic_id}/slots",
    response_model=list[SlotRow],
    responses={**SIGNED_IN, **NOT_FOUND},
    summary="Bookable times, earliest first; with a patient, only those safe for them",
)
def slots(
    request: Request,
    clinic_id: Id,
    user: OptionalUserDep,
    treatment: Annotated[str, Query(min_length=1, max_length=64, description="A treatment slug, e.g. botox.")],
    patient: Annotated[int | None, Query(ge=1, le=LARGEST_ID, description="Only times safe for them.")] = None,
    practitioner: Annotated[int | None, Query(ge=1, le=LARGEST_ID)] = None,
    first: Annotated[str | None, Query(alias="from", max_length=10, description="First day, YYYY-MM-DD.")] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
) -> JSONResponse:
    if patient is not None:
        if user is None:
            raise HTTPException(
                401,
                detail=[{"field": "patient", "problem": "sign in to see times safe for a patient"}],
                headers={"WWW-Authenticate": "Bearer"},
            )
        may_see(user, patient)
    first_day = parse_day(first, "from") if first is not None else None
    sessions = store(request)
    with UnitOfWork(sessions) as uow, found_by_path():
        get_clinic(uow.session, clinic_id)
    found = find_slots_for(
        sessions,
        knowledge_base(request),  # the service applies the clinic's rule adjustments
        treatment=treatment.strip(),
        clinic_id=clinic_id,
        patient_id=patient,
        practitioner_id=practitioner,
        first_day=first_day,
        days=days,
        limit=limit,
    )
    return JSONResponse([slot.as_dict() for slot in found])


@router.get(
    "/clinics/{clinic_id}/hours", response_model=list[ShiftRow], responses=NOT_FOUND, summary="Weekly opening hours"
)
def get_opening_hours(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        return JSONResponse(_shift_rows(opening_hours(uow.session, clinic_id)))


@router.put(
    "/clinics/{clinic_id}/hours",
    response_model=list[ShiftRow],
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Replace the weekly opening hours (the clinic's administrator)",
)
def put_opening_hours(request: Request, clinic_id: Id, body: WeeklyHoursIn, user: Admin) -> Response:
    administers(user, clinic_id)
    try:
        with found_by_path():
            shifts = set_opening_hours(store(request), clinic_id=clinic_id, hours=_shifts(body.hours), actor=user.actor)
    except Refused as refused:
        return _refused(refused)
    return JSONResponse(_shift_rows(shifts))


@router.get(
    "/clinics/{clinic_id}/closures",
    response_model=list[ClosureRow],
    responses=NOT_FOUND,
    summary="Days the clinic is closed (besides BC statutory holidays)",
)
def get_closures(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        return JSONResponse([_closure_row(c) for c in closures(uow.session, clinic_id)])


@router.post(
    "/clinics/{clinic_id}/closures",
    status_code=201,
    response_model=ClosureRow,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Close the clinic for some days (the clinic's administrator)",
)
def post_closure(request: Request, clinic_id: Id, body: ClosureIn, user: Admin) -> Response:
    administers(user, clinic_id)
    first_day, last_day = parse_day(body.first_day, "first_day"), parse_day(body.last_day, "last_day")
    try:
        with found_by_path():
            closure = add_closure(
                store(request),
                clinic_id=clinic_id,
                first_day=first_day,
                last_day=last_day,
                reason=body.reason,
                actor=user.actor,
            )
    except Refused as refused:
        return _refused(refused)
    return JSONResponse(_closure_row(closure), status_code=201)


@router.delete(
    "/clinics/{clinic_id}/closures/{closure_id}",
    status_code=204,
    responses={**ALLOWED, **NOT_FOUND},
    summary="Reopen: remove a closure (the clinic's administrator)",
)
def delete_closure(request: Request, clinic_id: Id, closure_id: Id, user: Admin) -> Response:
    administers(user, clinic_id)
    with found_by_path():
        remove_closure(store(request), clinic_id=clinic_id, closure_id=closure_id, actor=user.actor)
    return Response(status_code=204)


@router.get(
    "/clinics/{clinic_id}/practitioners/{practitioner_id}/hours",
    response_model=list[ShiftRow],
    responses={**ALLOWED, **NOT_FOUND},
    summary="A practitioner's weekly hours at the clinic (staff)",
)
def get_working_hours(request: Request, clinic_id: Id, practitioner_id: Id, user: StaffDep) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        return JSONResponse(_shift_rows(working_hours(uow.session, clinic_id, practitioner_id)))


@router.put(
    "/clinics/{clinic_id}/practitioners/{practitioner_id}/hours",
    response_model=list[ShiftRow],
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Set a practitioner's weekly hours at the clinic, adding them to its staff (the administrator)",
)
def put_working_hours(
    request: Request, clinic_id: Id, practitioner_id: Id, body: WeeklyHoursIn, user: Admin
) -> Response:
    administers(user, clinic_id)
    try:
        with found_by_path():
            shifts = set_working_hours(
                store(request),
                clinic_id=clinic_id,
                practitioner_id=practitioner_id,
                hours=_shifts(body.hours),
                actor=user.actor,
            )
    except Refused as refused:
        return _refused(refused)
    return JSONResponse(_shift_rows(shifts))


@router.delete(
    "/clinics/{clinic_id}/practitioners/{practitioner_id}",
    status_code=204,
    responses={**ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Deactivate a practitioner at the clinic: their hours here go (the administrator)",
)
def delete_practitioner(request: Request, clinic_id: Id, practitioner_id: Id, user: Admin) -> Response:
    administers(user, clinic_id)
    try:
        with found_by_path():
            leave_clinic(store(request), clinic_id=clinic_id, practitioner_id=practitioner_id, actor=user.actor)
    except Refused as refused:
        return _refused(refused)
    return Response(status_code=204)


@router.get(
    "/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off",
    response_model=list[TimeOffRow],
    responses={**ALLOWED, **NOT_FOUND},
    summary="A practitioner's time off that has not ended, at every clinic where they work (the clinic's staff)",
)
def get_time_off(request: Request, clinic_id: Id, practitioner_id: Id, user: StaffDep) -> JSONResponse:
    # StaffDep (front desk, practitioners, the administrator) and only of this clinic: the reasons are for the
    # staff, and may be health information, so neither the public nor patients read them, unlike the
    # clinic's closures, whose reasons patients are shown.
    _staff_of(user, clinic_id)
    with UnitOfWork(store(request)) as uow, found_by_path():
        clinic = clinic_of(uow.session, clinic_id, practitioner_id)
        entries = upcoming_time_off(uow.session, practitioner_id, now=now_utc())
        return JSONResponse([time_off_row(e, clinic.time_zone) for e in entries])


@router.post(
    "/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off",
    status_code=201,
    response_model=TimeOffRow,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Give a practitioner time off, at every clinic where they work (the clinic's administrator)",
)
def post_time_off(request: Request, clinic_id: Id, practitioner_id: Id, body: TimeOffIn, user: Admin) -> Response:
    administers(user, clinic_id)
    first_day, last_day = parse_day(body.first_day, "first_day"), parse_day(body.last_day, "last_day")
    with UnitOfWork(store(request)) as uow, found_by_path():
        zone_name = get_clinic(uow.session, clinic_id).time_zone
    try:
        with found_by_path():
            entry = add_local_time_off(
                store(request),
                clinic_id=clinic_id,
                practitioner_id=practitioner_id,
                first_day=first_day,
                last_day=last_day,
                start_time=_clock(body.start_time),
                end_time=_clock(body.end_time),
                reason=body.reason,
                actor=user.actor,
            )
    except Refused as refused:
        return _refused(refused)
    return JSONResponse(time_off_row(entry, zone_name), status_code=201)


@router.delete(
    "/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off/{time_off_id}",
    status_code=204,
    responses={**ALLOWED, **NOT_FOUND},
    summary="Remove a practitioner's time off (the clinic's administrator)",
)
def delete_time_off(request: Request, clinic_id: Id, practitioner_id: Id, time_off_id: Id, user: Admin) -> Response:
    administers(user, clinic_id)
    with found_by_path():
        remove_time_off(
            store(request),
            clinic_id=clinic_id,
            practitioner_id=practitioner_id,
            time_off_id=time_off_id,
            actor=user.actor,
        )
    return Response(status_code=204)


@router.get(
    "/clinics/{clinic_id}/rules",
    response_model=RulesOut,
    responses=NOT_FOUND,
    summary="The timing rules as this clinic applies them: the knowledge base with its adjustments",
)
def clinic_rules(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        get_clinic(uow.session, clinic_id)
        kb = knowledge_for_clinic(uow.session, clinic_id, knowledge_base(request))
    return JSONResponse({"version": kb.version, "rules": [rule_as_dict(rule) for rule in kb.all_rules()]})


@router.patch(
    "/clinics/{clinic_id}/rules/{rule_id}",
    response_model=IntervalRuleRow | SessionLimitRow,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND},
    summary="Tighten a rule, or loosen a soft one back towards its source (the clinic's administrator)",
)
def patch_rule(request: Request, clinic_id: Id, rule_id: RuleId, body: RuleChangeIn, user: Admin) -> JSONResponse:
    """A clinic may tighten any rule (raise `min`, start the ideal window later or end it earlier, make a soft
    rule `hard`, allow fewer `max_sessions`), and loosen only a rule that is soft in the knowledge base and only
    as far as its source: never below the source's minimum, never a wider ideal window or more sessions than
    the source's, never a hard rule soft. A refused change is 422 naming each field."""
    administers(user, clinic_id)
    changes = {field: str(value) for field, value in body.model_dump(exclude_none=True).items()}
    with found_by_path():
        rule = adjust_rule(
            store(request),
            knowledge_base(request),
            clinic_id=clinic_id,
            rule_id=rule_id,
            changes=changes,
            actor=user.actor,
        )
    return JSONResponse(rule_as_dict(rule))


@router.get(
    "/clinics/{clinic_id}/rule-adjustments",
    response_model=list[RuleAdjustmentRow],
    responses={**ALLOWED, **NOT_FOUND},
    summary="Every change the clinic made to its rules, oldest first (the clinic's administrator)",
)
def get_rule_adjustments(request: Request, clinic_id: Id, user: AdminReader) -> JSONResponse:
    administers(user, clinic_id)
    with UnitOfWork(store(request)) as uow, found_by_path():
        rows = [
            {
                "id": r.id,
                "clinic": r.clinic_id,
                "rule": r.rule_id,
                "field": r.field,
                "before": r.before,
                "after": r.after,
                "by": r.by,
                "at": r.at.isoformat(),
            }
            for r in rule_adjustments(uow.session, clinic_id)
        ]
    return JSONResponse(rows)
