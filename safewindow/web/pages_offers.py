"""The clinic administrator's page of what the clinic offers and how it takes bookings: each treatment's length,
set-up and clean-up, who may do it and the room and device it needs; minimum notice, how far ahead, and the slot
grid, and the deposit each treatment asks to hold a visit (typed in dollars, kept in cents). Changes go through
services/offers.py, which audits each and refuses one naming every field at fault;
they apply to bookings from then on, never to a visit already booked."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.domain.deposits import LARGEST_CENTS, cents_of, dollars
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services import offers
from safewindow.services.accounts import User
from safewindow.services.errors import FieldProblems
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.pages_account import AdminUser, Fields, read_form, render, summary_of
from safewindow.web.pages_admin import administered_clinic, administered_clinic_id

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
LABELS = {
    "treatment": "Treatment",
    "duration_minutes": "Length",
    "buffer_before_minutes": "Set-up",
    "buffer_after_minutes": "Clean-up",
    "permission": "Who may do it",
    "room_kind": "Room",
    "device_kind": "Device",
    "deposit": "Deposit",
    "min_notice_minutes": "Minimum notice",
    "horizon_days": "How far ahead",
    "slot_step_minutes": "Slots start every",
    "change_notice_minutes": "Notice to cancel or move online",
}
NOTICES = {"offer": "The treatment is saved.", "policy": "The booking policy is saved."}
OFFER_FIELDS = ("treatment", "duration_minutes", "buffer_before_minutes", "buffer_after_minutes")
CHOSEN_FIELDS = ("permission", "room_kind", "device_kind")
POLICY_FIELDS = ("min_notice_minutes", "horizon_days", "slot_step_minutes", "change_notice_minutes")


def _page(
    request: Request,
    user: User,
    *,
    chosen: str = "",
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    kb = knowledge_base(request)
    errors = errors or {}
    with UnitOfWork(store(request)) as uow:
        clinic = administered_clinic(uow.session, user)
        offered = offers.offers(uow.session, clinic.id, kb)
        allowed = offers.choices(uow.session, clinic.id)
        policy = offers.booking_policy(uow.session, clinic.id)
    if values is None:  # the form shows the chosen treatment as offered, or as the knowledge base describes it
        values = _offer_values(chosen, offered, kb)
    values = {**{field: str(value) for field, value in policy.as_dict().items()}, **values}
    context = {
        "page": "treatments-admin",
        "clinic": clinic,
        "offers": offered,
        "offered_slugs": {offer.treatment for offer in offered},
        "treatments": sorted(kb.treatments.values(), key=lambda t: t.name),
        "permission_names": dict(allowed.permissions),
        "choices": allowed,
        "steps": offers.SLOT_STEPS,
        "errors": errors,
        "summary": summary_of(errors, LABELS),
        "values": values,
        "notice": notice,
    }
    return render(request, "admin_treatments.html", context, user=user, status=status)


def _offer_values(slug: str, offered: list[offers.Offer], kb: KnowledgeBase) -> dict[str, str]:
    found = next((offer for offer in offered if offer.treatment == slug), None)
    if found is None:
        treatment = kb.treatments.get(slug)
        if treatment is None:
            return {}
        return {"treatment": slug, "duration_minutes": str(treatment.duration_minutes), "active": "on"}
    values = {field: "" if value is None else str(value) for field, value in found.as_dict().items()}
    values["active"] = "on" if found.active else ""
    values["deposit"] = dollars(found.deposit_cents)[1:].replace(",", "") if found.deposit_cents else ""
    return values


@router.get("/admin/treatments")
def treatments_page(request: Request, user: AdminUser, treatment: str = "", done: str = "") -> Response:
    return _page(request, user, chosen=treatment[:64], notice=NOTICES.get(done, ""))


def _whole(values: Mapping[str, str], field: str, errors: dict[str, str]) -> int:
    """A whole number from the form; a problem goes into `errors` under its field."""
    text = values.get(field, "")
    if not text.isdigit() or len(text) > 6:
        errors[field] = "give a whole number" if not text else f"{text[:10]!r} is not a whole number"
        return 0
    return int(text)


def _cents(values: Mapping[str, str], errors: dict[str, str]) -> int:
    """The deposit typed in dollars, in cents: empty or 0 is none; a problem goes into `errors`."""
    text = values.get("deposit", "").strip()
    cents = cents_of(text) if text else 0
    if cents is None:
        errors["deposit"] = f"{values['deposit'][:12]!r} is not an amount in dollars: write it as 50 or 50.00"
        return 0
    if cents > LARGEST_CENTS:
        errors["deposit"] = f"at most {dollars(LARGEST_CENTS)}"
    return cents


@router.post("/admin/treatments/offer")
async def offer_sent(request: Request, user: AdminUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_offer, request, user, fields)


def _save_offer(request: Request, user: User, fields: Fields) -> Response:
    values = {field: fields.text(field, 64) for field in (*OFFER_FIELDS, *CHOSEN_FIELDS, "active", "deposit")}
    errors: dict[str, str] = {}
    if not values["treatment"]:
        errors["treatment"] = "choose the treatment"
    duration, before, after = (_whole(values, field, errors) for field in OFFER_FIELDS[1:])
    deposit = _cents(values, errors)
    if not errors:
        permission, room, device = (values[field] or None for field in CHOSEN_FIELDS)
        offer = offers.Offer(
            values["treatment"], "", duration, before, after, permission, room, device, bool(values["active"]), deposit
        )
        clinic_id = administered_clinic_id(request, user)
        try:
            offers.set_offer(
                store(request), knowledge_base(request), clinic_id=clinic_id, offer=offer, actor=user.actor
            )
        except FieldProblems as refused:
            # The service names the amount in cents; the form asks for dollars.
            for field, problem in refused.problems:
                errors["deposit" if field == "deposit_cents" else field] = problem
    if errors:
        return _page(request, user, errors=errors, values=values, status=400)
    return RedirectResponse("/admin/treatments?done=offer", 303)


@router.post("/admin/treatments/policy")
async def policy_sent(request: Request, user: AdminUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_policy, request, user, fields)


def _save_policy(request: Request, user: User, fields: Fields) -> Response:
    values = {field: fields.text(field, 10) for field in POLICY_FIELDS}
    errors: dict[str, str] = {}
    policy = offers.Policy(*(_whole(values, field, errors) for field in POLICY_FIELDS))
    if not errors:
        clinic_id = administered_clinic_id(request, user)
        try:
            offers.set_booking_policy(store(request), clinic_id=clinic_id, policy=policy, actor=user.actor)
        except FieldProblems as refused:
            errors.update(refused.problems)
    if errors:
        return _page(request, user, errors=errors, values=values, status=400)
    return RedirectResponse("/admin/treatments?done=policy", 303)
