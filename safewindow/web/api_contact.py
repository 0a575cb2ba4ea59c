"""A patient's contact preferences over the API: their mobile number, whether reminders and recalls come by
e-mail, and whether visit reminders come by text message too (services/contact_preferences.py).

| who                                     | read                | change                                  |
|-----------------------------------------|---------------------|-----------------------------------------|
| front desk, practitioner, clinic admin  | yes                 | yes (what the patient told them)        |
| the patient themselves                  | yes (their own)     | yes (their own)                         |
| another patient                         | 404                 | 404                                     |

Staff see every patient's, as they see every chart (api_patients.py). Mail about a visit's care (booked, moved,
cancelled, aftercare) comes by e-mail whatever is chosen. A change replaces all three choices; a number that is
not a mobile one, or texts without a number, is 422 naming `phone`, and nothing is written. Reads are audited by
ids (`patient-contact-preferences.read`); a change by the service, with the choices and whether the number
changed, never the number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from safewindow.services.accounts import User
from safewindow.services.contact_preferences import contact_preferences, set_contact_preferences
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import (
    ALLOWED,
    NOT_FOUND,
    SIGNED_IN,
    WITH_BODY,
    Id,
    changer,
    found_by_path,
    may_see,
    text,
)
from safewindow.web.auth import STAFF, UserDep, audit_read, store

router = APIRouter(prefix="/api/v1", tags=["contact"], responses={422: {"model": Problems, "description": "Bad input"}})
PATH = "/patients/{patient_id}/contact-preferences"
ContactChanger = Annotated[User, Depends(changer(*STAFF, Role.PATIENT))]
PHONE = Field(description="The mobile number in E.164 (+16045550142); null: none on file.")
EMAIL_REMINDERS = Field(description="Reminders and recalls by e-mail. Visit notices and aftercare come regardless.")
TEXT_REMINDERS = Field(description="Visit reminders by text message too (the clinic, day and time only).")


class ContactPreferencesOut(Shape):
    patient_id: int
    email: str = Field(description="Where the clinic's e-mail goes.")
    phone: str | None = PHONE
    email_reminders: bool = EMAIL_REMINDERS
    text_reminders: bool = TEXT_REMINDERS


class ContactPreferencesIn(Shape):
    # Whether it is a number is the service's to say (422 naming `phone`); the body only keeps it one short line.
    phone: Annotated[str, text(64)] | None = Field(
        description="A mobile number as people write it (604-555-0142; another country's with its +code); "
        "null or empty: remove the number."
    )
    email_reminders: bool = EMAIL_REMINDERS
    text_reminders: bool = Field(description="Visit reminders by text message too: needs a mobile number.")


@router.get(
    PATH,
    response_model=ContactPreferencesOut,
    responses={**SIGNED_IN, **NOT_FOUND},
    summary="How a patient hears from the clinic: mobile number, e-mail reminders, text reminders (staff and the "
    "patient)",
)
def read_contact_preferences(request: Request, patient_id: Id, user: UserDep) -> JSONResponse:
    may_see(user, patient_id)
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        found = contact_preferences(uow.session, patient_id).as_dict()
        audit_read(uow.session, user, "patient-contact-preferences", patient_id)
        uow.commit()
    return JSONResponse(found)


@router.put(
    PATH,
    response_model=ContactPreferencesOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND},
    summary="Change how a patient hears from the clinic (staff, recording what the patient told them, and the patient)",
    description="Replaces all three choices. Turning texts on writes text reminders for the visits already booked; "
    "turning a channel off drops its unsent reminders; a new number carries the unsent texts. A number that is not "
    "a mobile one, or texts without a number, is 422 naming `phone`, and nothing changes. Answers the preferences "
    "after the change.",
)
def change_contact_preferences(
    request: Request, patient_id: Id, body: ContactPreferencesIn, user: ContactChanger
) -> JSONResponse:
    may_see(user, patient_id)
    with found_by_path():
        after = set_contact_preferences(
            store(request),
            patient_id=patient_id,
            actor=user.actor,
            phone=body.phone or "",
            email_reminders=body.email_reminders,
            text_reminders=body.text_reminders,
        )
    return JSONResponse(after.as_dict())
