"""Prescribers' client-specific orders from the patient chart. In BC a registered nurse gives Botox only on an
authorized prescriber's order for that patient; the prescriber writes it after assessing them, and may revoke it.

Only a practitioner writes or revokes, and the orders service decides whether they may (they must give the
treatment in their own right): another practitioner's forged form gets its refusal, and any other role's is a
403, as override fields are for the front desk. A change done leads back to the chart (post, redirect, get: reloading
it changes nothing), with a notice; revoking says how many booked visits are now without an order, for staff to
reassign or cancel. A change refused shows the chart with the form as sent and what is wrong beside each field."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.services.accounts import User
from safewindow.services.advice import parse_day
from safewindow.services.booking import Refused
from safewindow.services.errors import InputError
from safewindow.services.orders import LONGEST_NOTE, revoke_order, write_order
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import check_csrf, may_see_patient, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import Fields, RecordId, StaffUser, read_form, summary_of
from safewindow.web.pages_staff import chart_page, practitioner_only

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
LABELS = {"treatment": "Treatment", "valid_until": "Covers visits until", "note": "Note"}


def _practitioner_only(user: User) -> int:
    return practitioner_only(user, "write or revoke a prescriber's order; ask a prescriber")


@router.post("/staff/patients/{patient_id}/orders")
async def order_sent(request: Request, user: StaffUser, patient_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    _practitioner_only(user)
    return await run_in_threadpool(_write, request, user, patient_id, fields)


def _write(request: Request, user: User, patient_id: int, fields: Fields) -> Response:
    """The order written, or the chart again with the form as sent and what is wrong beside each field."""
    may_see_patient(user, patient_id)
    with UnitOfWork(store(request)) as uow:
        if uow.session.get(models.Patient, patient_id) is None:
            raise NotFound("patient", f"no patient {patient_id}")
    sent = {
        "treatment": fields.text("treatment", 64),
        "valid_until": fields.text("valid_until", 20),
        "note": fields.text("note", LONGEST_NOTE),
    }
    errors: dict[str, str] = {}
    if not sent["treatment"]:
        errors["treatment"] = "choose the treatment you are ordering"
    valid_until = None
    if not sent["valid_until"]:
        errors["valid_until"] = "give the last day the order covers"
    else:
        try:
            valid_until = parse_day(sent["valid_until"], "valid_until")
        except InputError as error:
            errors["valid_until"] = error.problem
    if valid_until is not None and not errors:
        try:
            order = write_order(
                store(request),
                knowledge_base(request),
                patient_id=patient_id,
                treatment=sent["treatment"],
                prescriber_id=_practitioner_only(user),
                valid_until=valid_until,
                note=sent["note"],
                actor=user.actor,
            )
        except Refused as refused:
            return chart_page(
                request, user, patient_id, {"order_form": sent, "order_problems": refused.problems}, status=409
            )
        except InputError as error:
            errors[error.field if error.field in LABELS else "treatment"] = error.problem
        else:  # to the chart, so reloading it cannot write a second order
            return RedirectResponse(f"/staff/patients/{patient_id}?ordered={order.id}", 303)
    extra = {"order_form": sent, "order_errors": errors, "order_summary": summary_of(errors, LABELS)}
    return chart_page(request, user, patient_id, extra, status=400)


@router.post("/staff/orders/{order_id}/revoke")
async def revoke_sent(request: Request, user: StaffUser, order_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    _practitioner_only(user)
    return await run_in_threadpool(_revoke, request, user, order_id)


def _revoke(request: Request, user: User, order_id: int) -> Response:
    """The order revoked (a prescriber's decision, never refused for what it leaves uncovered), or the refusal."""
    with UnitOfWork(store(request)) as uow:
        order = uow.session.get(models.ClientOrder, order_id)
        patient_id = order.patient_id if order is not None else None
    if patient_id is None:
        raise NotFound("order", f"no order {order_id}")
    may_see_patient(user, patient_id)
    try:
        revoked = revoke_order(
            store(request), order_id=order_id, prescriber_id=_practitioner_only(user), actor=user.actor
        )
    except Refused as refused:
        return chart_page(request, user, patient_id, {"order_problems": refused.problems}, status=409)
    lacking, already = len(revoked.uncovered), int(revoked.already)
    return RedirectResponse(
        f"/staff/patients/{patient_id}?revoked={order_id}&uncovered={lacking}&already={already}", 303
    )
