"""Prescribers' client-specific orders over the API (BC: a registered nurse injects Botox only on an authorized
prescriber's order for that patient). An order is health data: least privilege, every read accounted for.

| who                          | read a patient's orders | write one, revoke one  |
|------------------------------|-------------------------|------------------------|
| practitioner                 | yes                     | yes, as themselves     |
| front desk, clinic admin     | no (403)                | no (403)               |
| the patient themselves       | yes (their own)         | no (403)               |
| another patient              | 404                     | no (403)               |

A practitioner writes and revokes as the practitioner their account is linked to (403 for an account linked to
none), never one named in the body; 409 `not-a-prescriber` unless they give the treatment in their own right.
Every read is audited by ids (`patient-orders.read`); writing and revoking are audited by the service, by ids and
days: the note never reaches the audit log. A refusal is 409 with every reason, as for visits:
    {"detail": [{"field": "not-a-prescriber", "problem": ..., "kind": null, "evidence": null, "source": null}]}
Revoking an order already revoked answers it again and changes nothing. Revoking is never refused for its
consequences: booked visits left without an order come back in `uncovered` ({code, message, ...}, the code
`practitioner-needs-order`), still booked, for staff to reassign or cancel.

`Idempotency-Key` (POST): as for visits, a retry with the same key gets the first answer and writes once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from safewindow.services.accounts import User
from safewindow.services.advice import parse_day
from safewindow.services.errors import NotFound as ServiceNotFound
from safewindow.services.orders import LONGEST_NOTE, orders_of, revoke_order, write_order
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import ALLOWED, NOT_FOUND, WITH_BODY, Id, changer, found_by_path, may_see, text
from safewindow.web.api_visits import REFUSED, IdempotencyKey, answer
from safewindow.web.auth import audit_read, require, store
from safewindow.web.dependencies import knowledge_base

router = APIRouter(prefix="/api/v1", tags=["orders"], responses={422: {"model": Problems, "description": "Bad input"}})
OrderReader = Annotated[User, Depends(require(Role.PRACTITIONER, Role.PATIENT))]
OrderWriter = Annotated[User, Depends(changer(Role.PRACTITIONER))]
# A prescriber's note may run over lines; no other control characters (PostgreSQL refuses NUL).
NOTE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class OrderOut(Shape):
    id: int
    patient_id: int
    treatment: str
    prescriber_id: int
    prescriber: str = Field(description="The prescriber's name.")
    valid_until: date = Field(description="The last calendar day the order covers.")
    note: str = Field(description="What the prescriber ordered (product, dose, areas).")
    written_by: str
    written_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None


class UncoveredVisit(Shape):
    code: str = Field(description="practitioner-needs-order")
    message: str = Field(description="Which visit, and why no order covers it now.")
    kind: str | None
    evidence: str | None
    source: str | None


class RevokedOut(OrderOut):
    uncovered: list[UncoveredVisit] = Field(
        description="Booked visits of the patient that no order covers now: still booked; reassign or cancel them."
    )
    already_revoked: bool = Field(
        description="It was revoked before this call: nothing changed, and `uncovered` is empty (they were listed "
        "when it was revoked; the patient's chart flags them)."
    )


class OrderIn(Shape):
    treatment: Annotated[str, text(64, 1), Field(description="A treatment slug, e.g. botox.")]
    valid_until: Annotated[str, text(10, 1), Field(description="The last day it covers, YYYY-MM-DD.")]
    note: Annotated[
        str,
        StringConstraints(max_length=LONGEST_NOTE, pattern=NOTE),
        Field(description="What is ordered: product, dose, areas."),
    ] = ""


def _prescriber_id(user: User) -> int:
    """The practitioner the signed-in account is: the only prescriber it may write or revoke orders as."""
    if user.practitioner_id is None:
        raise HTTPException(
            403, detail=[{"field": "role", "problem": "only a practitioner's own account may write or revoke orders"}]
        )
    return user.practitioner_id


@contextmanager
def _as_prescriber() -> Iterator[None]:
    """The signed-in practitioner's record gone or inactive: they may not order (403), unlike a record named in
    the path that does not exist (404)."""
    try:
        yield
    except ServiceNotFound as error:
        if error.field != "prescriber":
            raise
        raise HTTPException(403, detail=[{"field": "prescriber", "problem": error.problem}]) from None


@router.get(
    "/patients/{patient_id}/orders",
    response_model=list[OrderOut],
    responses={**ALLOWED, **NOT_FOUND},
    summary="A patient's prescribers' orders, revoked ones too, newest first (practitioners and the patient)",
)
def orders(request: Request, patient_id: Id, user: OrderReader) -> JSONResponse:
    may_see(user, patient_id)
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        rows = [order.as_dict() for order in orders_of(uow.session, patient_id)]
        audit_read(uow.session, user, "patient-orders", patient_id)
        uow.commit()
    return JSONResponse(rows)


@router.post(
    "/patients/{patient_id}/orders",
    status_code=201,
    response_model=OrderOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Write a client-specific order for the patient, as the signed-in prescriber (practitioners)",
    description="The prescriber is the signed-in practitioner; they must give the treatment in their own right "
    "where it is offered (409 `not-a-prescriber` otherwise). While the order is in force, a practitioner who gives "
    "the treatment only on such an order (a registered nurse) may be booked for it with this patient.",
)
def write(
    request: Request, patient_id: Id, body: OrderIn, user: OrderWriter, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    prescriber = _prescriber_id(user)

    def change() -> tuple[int, dict[str, Any]]:
        valid_until = parse_day(body.valid_until, "valid_until")
        with found_by_path(), _as_prescriber():
            order = write_order(
                store(request),
                knowledge_base(request),
                patient_id=patient_id,
                treatment=body.treatment.strip(),
                prescriber_id=prescriber,
                valid_until=valid_until,
                note=body.note,
                actor=user.actor,
            )
        return 201, order.as_dict()

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.post(
    "/orders/{order_id}/revoke",
    response_model=RevokedOut,
    responses={**ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Revoke an order, as the signed-in prescriber (practitioners)",
    description="Never refused for its consequences: booked visits no order covers any more are listed in "
    "`uncovered`, still booked. Revoking an order already revoked changes nothing and answers it again.",
)
def revoke(request: Request, order_id: Id, user: OrderWriter, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    prescriber = _prescriber_id(user)

    def change() -> tuple[int, dict[str, Any]]:
        with found_by_path(), _as_prescriber():
            revoked = revoke_order(store(request), order_id=order_id, prescriber_id=prescriber, actor=user.actor)
        return 200, revoked.as_dict()

    return answer(request, user, idempotency_key, {}, change)
