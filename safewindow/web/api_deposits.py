"""Deposits over the API: the deposit a clinic asked to hold a visit (its offer's `deposit_cents` when the visit was
booked), where it stands, and each step its staff record of it; a clinic's deposits with something left to do, and
its late cancellations and no-shows. safewindow takes no payments: staff record what happened at the terminal.

| who                                     | read a visit's deposit  | record a step of it    | a clinic's lists   |
|-----------------------------------------|-------------------------|------------------------|--------------------|
| front desk, practitioner, clinic admin  | yes (their clinics')    | yes (their clinics')   | yes (their clinics)|
| the patient themselves                  | yes (their own visit)   | no (403)               | no (403)           |
| another patient                         | 404                     | no (403)               | no (403)           |

A staff member's clinics are their account's home clinic and, for a practitioner, every clinic where they work
(staff without a home clinic work with every clinic, as on the staff pages): another clinic's visit is 404 as if
it did not exist, another clinic's lists 403.

The steps are the policy's (domain/deposits.py): `taken` (with a `method`, and the receipt's `reference`), `applied`
once the visit is completed, `refunded`, `kept` when the visit was cancelled within the clinic's notice for changes
or not attended, `waived` before it was taken (with a `reason`). A step the policy does not allow now is 409
`deposit-cannot-be-<step>` with why, in the shape of booking refusals; bad input is 422 naming every field at fault
(step, method, reference, reason). Recording is audited by the service with ids and amounts; reads are audited by
ids (`visit-deposit.read`, `clinic-deposits.read`, `clinic-late-and-missed.read`).

`Idempotency-Key` (POST): as for visits, a retry with the same key gets the first answer and records once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.deposits import State, Step, Todo
from safewindow.services.accounts import User
from safewindow.services.clinic_view import get_clinic
from safewindow.services.deposits import LONGEST, deposit_of_visit, late_and_missed, record_step, to_act_on
from safewindow.services.report_days import report_days
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import ALLOWED, NOT_FOUND, PLAIN, WITH_BODY, Id, changer, found_by_path
from safewindow.web.api_visits import REFUSED, IdempotencyKey, answer, clinics_of, visible_visit
from safewindow.web.auth import STAFF, StaffDep, audit_read, require, store
from safewindow.web.errors import NotFound

router = APIRouter(
    prefix="/api/v1", tags=["deposits"], responses={422: {"model": Problems, "description": "Bad input"}}
)
DepositReader = Annotated[User, Depends(require(*STAFF, Role.PATIENT))]
DepositWriter = Annotated[User, Depends(changer(*STAFF))]
Method = Literal["card", "cash", "e-transfer", "other"]  # domain/deposits.py METHODS
# Lengths are the service's to check, so that one answer names every field at fault; the body's only limit is on
# characters (PostgreSQL refuses NUL; a receipt's number and a reason are one line).
Plain = StringConstraints(pattern=PLAIN)


class EntryOut(Shape):
    id: int
    step: Step
    amount_cents: int = Field(description="The visit's deposit, in cents.")
    method: Method | None = Field(description="How the money changed hands: taken and refunded only.")
    reference: str = Field(description="The receipt's or transfer's number, if any.")
    reason: str
    recorded_by: str
    recorded_at: datetime


class DepositOut(Shape):
    visit_id: int
    amount_cents: int = Field(description="Asked when the visit was booked, in cents; 0: the visit needs none.")
    state: State = Field(description="Where it stands: the last step recorded (due before any).")
    todo: Todo | None = Field(description="What the front desk should do next; null: nothing.")
    allowed: list[Step] = Field(description="The steps the policy lets staff record now.")
    entries: list[EntryOut] = Field(description="Every step recorded, oldest first; never changed.")


class ClinicDepositOut(DepositOut):
    patient_id: int
    patient: str = Field(description="The patient's name.")
    treatment: str
    start: datetime = Field(description="When the visit begins, on the clinic's clock with its UTC offset.")
    status: models.VisitStatus


class LateOrMissedOut(Shape):
    visit_id: int
    patient_id: int
    patient: str = Field(description="The patient's name.")
    treatment: str
    day: date = Field(description="The visit's day in the clinic's time zone.")
    status: Literal["cancelled", "no-show"] = Field(description="cancelled: within the clinic's notice for changes.")
    deposit_cents: int = Field(description="The deposit the visit was booked with; 0: none.")


class StepIn(Shape):
    step: Step = Field(description="What happened to the deposit.")
    method: Method | None = Field(default=None, description="How the money changed hands: taken and refunded only.")
    reference: Annotated[
        str, Plain, Field(description=f"The receipt's or transfer's number (at most {LONGEST['reference']}).")
    ] = ""
    reason: Annotated[
        str, Plain, Field(description=f"Why: needed to waive a deposit (at most {LONGEST['reason']}).")
    ] = ""


def _works_at(session: Session, user: User, clinic_id: int) -> bool:
    return user.clinic_id is None or clinic_id in clinics_of(session, user)


def _visit(session: Session, user: User, visit_id: int) -> None:
    """The visit's deposit is the caller's to see: a patient's own visit, or a visit at a staff member's clinics;
    404 alike otherwise."""
    visit = visible_visit(session, user, visit_id)
    if user.is_staff and not _works_at(session, user, visit.clinic_id):
        raise NotFound("visit", f"no visit {visit_id}")


def _clinic(session: Session, user: User, clinic_id: int) -> models.Clinic:
    clinic = get_clinic(session, clinic_id)
    if not _works_at(session, user, clinic_id):
        raise HTTPException(403, detail=[{"field": "clinic", "problem": f"you do not work at clinic {clinic_id}"}])
    return clinic


@router.get(
    "/visits/{visit_id}/deposit",
    response_model=DepositOut,
    responses={**ALLOWED, **NOT_FOUND},
    summary="A visit's deposit: its amount, where it stands, what is left to do, and every step (staff and the "
    "patient)",
)
def visit_deposit(request: Request, visit_id: Id, user: DepositReader) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        _visit(uow.session, user, visit_id)
        row = deposit_of_visit(uow.session, visit_id).as_dict()
        audit_read(uow.session, user, "visit-deposit", visit_id)
        uow.commit()
    return JSONResponse(row)


@router.post(
    "/visits/{visit_id}/deposit",
    status_code=201,
    response_model=DepositOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Record a step of a visit's deposit, as it happened at the terminal (staff)",
    description="`taken` (a `method` is needed) while the visit is booked and the deposit due; `applied` once the "
    "visit is completed; `refunded` (a `method` is needed) once taken, or kept; `kept` when the visit was cancelled "
    "within the clinic's notice for changes or not attended; `waived` (a `reason` is needed) before it is taken. "
    "Otherwise 409 `deposit-cannot-be-<step>` with why. Answers the deposit after the step.",
)
def record_deposit_step(
    request: Request, visit_id: Id, body: StepIn, user: DepositWriter, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    sessions = store(request)
    with UnitOfWork(sessions) as uow:
        _visit(uow.session, user, visit_id)

    def change() -> tuple[int, dict[str, Any]]:
        with found_by_path():
            after = record_step(
                sessions,
                visit_id=visit_id,
                step=body.step,
                actor=user.actor,
                method=body.method,
                reference=body.reference,
                reason=body.reason,
            )
        return 201, after.as_dict()

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.get(
    "/clinics/{clinic_id}/deposits",
    response_model=list[ClinicDepositOut],
    responses={**ALLOWED, **NOT_FOUND},
    summary="The clinic's deposits with something left to do, earliest visit first (staff)",
    description="Due for a booked visit (take it), or held for a visit that was completed (apply it), cancelled "
    "in time (refund it), or cancelled late or missed (keep it, or refund it): visits of the last 180 days on.",
)
def clinic_deposits(request: Request, clinic_id: Id, user: StaffDep) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        _clinic(uow.session, user, clinic_id)
        rows = [deposit.as_dict() for deposit in to_act_on(uow.session, clinic_id)]
        audit_read(uow.session, user, "clinic-deposits", clinic_id)
        uow.commit()
    return JSONResponse(rows)


@router.get(
    "/clinics/{clinic_id}/late-and-missed",
    response_model=list[LateOrMissedOut],
    responses={**ALLOWED, **NOT_FOUND},
    summary="The clinic's visits cancelled within its notice for changes, or not attended, earliest first (staff)",
    description="Days in the clinic's zone, both included; by default the 30 days up to today, at most a year.",
)
def clinic_late_and_missed(
    request: Request,
    clinic_id: Id,
    user: StaffDep,
    first: Annotated[
        str | None,
        Query(alias="from", max_length=10, description="First day, YYYY-MM-DD (default: the 30 days up to `to`)."),
    ] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10, description="Last day (default: today).")] = None,
) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        clinic = _clinic(uow.session, user, clinic_id)
        begins, ends = report_days(first, last, clinic_today(clinic_zone(clinic.time_zone)))
        rows = [visit.as_dict() for visit in late_and_missed(uow.session, clinic_id, begins, ends)]
        audit_read(uow.session, user, "clinic-late-and-missed", clinic_id)
        uow.commit()
    return JSONResponse(rows)
