"""What a clinic offers and its booking policy over the API. Public to read, as a booking site needs both; the
clinic's administrator changes them, for their own clinic only (another clinic is 403). A refused change is 422
naming every field at fault (services/offers.py). An offer may ask a deposit to hold each visit (`deposit_cents`);
what staff record of it is in api_deposits.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from safewindow.domain.deposits import LARGEST_CENTS, dollars
from safewindow.services import offers
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_clinics import Admin, administers
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import ALLOWED, LARGEST_ID, NOT_FOUND, WITH_BODY, Id, found_by_path
from safewindow.web.auth import store
from safewindow.web.dependencies import knowledge_base

router = APIRouter(prefix="/api/v1", tags=["clinics"], responses={422: {"model": Problems, "description": "Bad input"}})
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$", description="e.g. botox")]
Kind = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Minutes = Annotated[int, Field(ge=0, le=100_000)]


class OfferIn(Shape):
    """How the clinic offers the treatment. Every field is set: one left out takes its default."""

    duration_minutes: Minutes
    buffer_before_minutes: Minutes = Field(default=0, description="Set-up: keeps the practitioner and room.")
    buffer_after_minutes: Minutes = Field(default=0, description="Clean-up: keeps the practitioner and room.")
    permission: Kind | None = Field(default=None, description="Who may do it, e.g. may-inject; null: anyone.")
    room_kind: Kind | None = Field(default=None, description="A room of this kind is booked; null: none.")
    device_kind: Kind | None = Field(default=None, description="A shared device of this kind is booked too.")
    active: bool = Field(default=True, description="Offered for booking; booked visits stay either way.")
    # The service checks the amount against LARGEST_CENTS, so that one answer names every field at fault; the body
    # only keeps it a 32-bit integer, as the column is.
    deposit_cents: Annotated[int, Field(ge=0, le=LARGEST_ID)] = Field(
        default=0,
        description=f"A deposit asked to hold each visit booked from now on, in cents, at most {LARGEST_CENTS} "
        f"({dollars(LARGEST_CENTS)}); 0: none. Booked visits keep the amount they were booked with.",
    )


class OfferRow(OfferIn):
    treatment: str
    name: str


class PolicyRow(Shape):
    min_notice_minutes: Minutes = Field(description="How long before a visit it may be booked at the latest.")
    horizon_days: Annotated[int, Field(ge=0, le=100_000, description="How many days ahead it may be booked.")]
    slot_step_minutes: Annotated[int, Field(ge=0, le=100_000, description="Slots start every this many minutes.")]
    change_notice_minutes: Minutes = Field(
        description="A patient may cancel or move a visit online until this long before it; later, staff only."
    )


@router.get(
    "/clinics/{clinic_id}/treatments",
    response_model=list[OfferRow],
    responses=NOT_FOUND,
    summary="What the clinic offers, with durations, buffers and what each needs",
)
def clinic_offers(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        found = offers.offers(uow.session, clinic_id, knowledge_base(request))
    return JSONResponse([offer.as_dict() for offer in found])


@router.put(
    "/clinics/{clinic_id}/treatments/{treatment}",
    response_model=OfferRow,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND},
    summary="Offer a treatment, or change how it is offered (the clinic's administrator)",
)
def put_offer(request: Request, clinic_id: Id, treatment: Slug, body: OfferIn, user: Admin) -> JSONResponse:
    """Applies to bookings from now on: booked visits keep their times and buffers. A treatment that breaks the
    skin, injects or needs a prescriber needs a `permission`."""
    administers(user, clinic_id)
    offer = offers.Offer(treatment=treatment, name="", **body.model_dump())
    with found_by_path():
        saved = offers.set_offer(
            store(request), knowledge_base(request), clinic_id=clinic_id, offer=offer, actor=user.actor
        )
    return JSONResponse(saved.as_dict())


@router.get(
    "/clinics/{clinic_id}/booking-policy",
    response_model=PolicyRow,
    responses=NOT_FOUND,
    summary="Minimum notice, how far ahead, and the slot grid",
)
def get_policy(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        return JSONResponse(offers.booking_policy(uow.session, clinic_id).as_dict())


@router.put(
    "/clinics/{clinic_id}/booking-policy",
    response_model=PolicyRow,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND},
    summary="Replace the booking policy (the clinic's administrator)",
)
def put_policy(request: Request, clinic_id: Id, body: PolicyRow, user: Admin) -> JSONResponse:
    administers(user, clinic_id)
    with found_by_path():
        saved = offers.set_booking_policy(
            store(request), clinic_id=clinic_id, policy=offers.Policy(**body.model_dump()), actor=user.actor
        )
    return JSONResponse(saved.as_dict())
