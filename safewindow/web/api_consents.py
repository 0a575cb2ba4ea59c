"""Consent forms and patients' signatures over the API (services/consents.py). A clinic writes its own form for each
treatment, in versions (the latest is in use); a patient signs the version in use, or staff record a paper form the
patient signed by hand; a patient may withdraw; each visit says whether its consent is on file.

| who                         | read forms | write a form   | read signatures | sign          | withdraw  |
|-----------------------------|------------|----------------|-----------------|---------------|-----------|
| anyone, signed in or not    | yes        | 401            | 401             | 401           | 401       |
| the clinic's administrator  | yes        | their clinic's | yes             | on paper only | yes       |
| front desk, practitioner    | yes        | no (403)       | yes             | on paper only | yes       |
| the patient themselves      | yes        | no (403)       | yes (their own) | online only   | their own |
| another patient             | yes        | no (403)       | 404             | 404           | 404       |

Forms are the clinic's published words, not health data: public to read, as a booking site shows what a patient
will sign (like the clinic's offers, api_offers.py). Which treatments a patient consented to is health data: staff
read every patient's, as they read every patient's visits (api_patients.py, api_contact.py), and a patient their
own; another patient's answers 404 as if it did not exist. Staff record only forms the patient signed on paper
(`on_paper: true`), and a patient never claims one (422 naming `on_paper` either way): a typed signature online is
the patient's own act. A signature names the version read (`version`); if the clinic changed the form meanwhile, it
is refused with 409 `consent-form-changed`, in the shape of booking refusals, and nothing is signed.

Bad input is 422 naming every field at fault the service can name at once (title, body; agreed, signed_name); a
clinic or treatment named in the body that does not exist (or has no form) is 422 naming `clinic_id` or
`treatment`, one in the path 404. Reads of signatures are audited by ids (`patient-consents.read`); writing a form,
signing and withdrawing by the service, by ids: which treatment a patient consented to stays in the chart.

`Idempotency-Key` (POST): as for visits, a retry with the same key gets the first answer and signs or withdraws
once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from safewindow.clock import clinic_zone
from safewindow.domain.consent import LONGEST_BODY, LONGEST_TITLE, Standing
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services import offers
from safewindow.services.accounts import User
from safewindow.services.booking import Refused
from safewindow.services.clinic_view import get_clinic
from safewindow.services.consents import (
    LONGEST_NAME,
    coverage_dict,
    form_dict,
    form_versions,
    forms_of_clinic,
    sign,
    signature_dict,
    signatures_of,
    upcoming_coverage,
    withdraw,
    write_form,
)
from safewindow.services.errors import InputError
from safewindow.services.errors import NotFound as ServiceNotFound
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_clinics import Admin, administers
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_offers import Slug
from safewindow.web.api_orders import NOTE
from safewindow.web.api_sessions import (
    ALLOWED,
    LARGEST_ID,
    NOT_FOUND,
    PLAIN,
    WITH_BODY,
    Id,
    changer,
    found_by_path,
    may_see,
    text,
)
from safewindow.web.api_visits import REFUSED, IdempotencyKey, answer, refusal_body
from safewindow.web.auth import STAFF, audit_read, require, store
from safewindow.web.dependencies import NowDep, knowledge_base
from safewindow.web.errors import NotFound

router = APIRouter(
    prefix="/api/v1", tags=["consents"], responses={422: {"model": Problems, "description": "Bad input"}}
)
ConsentReader = Annotated[User, Depends(require(*STAFF, Role.PATIENT))]
ConsentChanger = Annotated[User, Depends(changer(*STAFF, Role.PATIENT))]
FORMS = "/clinics/{clinic_id}/consent-forms"
SIGNATURES = "/patients/{patient_id}/consents"
# Lengths are the service's to check, so that one answer names every field at fault; the body's only limits are
# on characters (PostgreSQL refuses NUL; only a form's body may run over lines).
Plain = StringConstraints(pattern=PLAIN)
BODY_FIELDS = {"clinic": "clinic_id"}  # a service's name for a record -> the body's field that named it


class FormOut(Shape):
    id: int
    clinic_id: int
    treatment: str
    version: int = Field(description="1 for the clinic's first; the latest is the form in use.")
    title: str
    body: str = Field(description="The exact words a patient signs, as plain text.")
    written_by: str
    written_at: datetime


class ClinicFormRow(Shape):
    treatment: str
    name: str = Field(description="The treatment's name.")
    active: bool = Field(description="Offered for booking now.")
    form: FormOut | None = Field(description="The form in use; null: the clinic asks no written consent for it.")


class FormVersionsOut(Shape):
    form: FormOut = Field(description="The form in use: the version a patient signs now.")
    earlier_versions: list[FormOut] = Field(description="The versions before it, newest first; never changed.")


class FormIn(Shape):
    title: Annotated[str, Plain, Field(description=f"One line, at most {LONGEST_TITLE} characters.")]
    # Checked in the route, not here: the app's validation errors drop every part of a location that reads
    # "body" (the request's body), so a problem with this field would be said of the `request`, not of `body`.
    body: str = Field(
        default="",
        description=f"What the patient agrees to; may run over lines, at most {LONGEST_BODY} characters. Needed: "
        "an empty body is refused (422).",
    )
    based_on_version: int | None = Field(
        default=None,
        ge=0,
        description="The version the text was written from (0: the starter, when there was no form). If another "
        "version was saved since, the change is refused with 409 `consent-form-changed` rather than replacing it.",
    )


class WrittenOut(Shape):
    form: FormOut = Field(description="The form in use after the change.")
    changed: bool = Field(description="False when the text was the version in use already: no new version.")


class SignatureOut(Shape):
    id: int
    patient_id: int
    clinic_id: int
    treatment: str
    treatment_name: str
    form: FormOut = Field(description="The version signed, with its exact words.")
    signed_name: str = Field(description="The name as typed, or as signed on paper.")
    signed_at: datetime
    signed_day: date = Field(description="The day it was signed, in the clinic's time zone.")
    on_paper: bool = Field(description="A paper form the patient signed, recorded by staff (`recorded_by`).")
    recorded_by: str
    withdrawn_at: datetime | None = Field(description="When the patient withdrew it; null: not withdrawn.")
    withdrawn_by: str | None


class CoverageOut(Shape):
    standing: Standing = Field(
        description="no-form: the clinic asks none; signed; needed: never signed; new-version: an earlier version "
        "was signed; expired: signed more than a year before the visit; withdrawn."
    )
    covered: bool = Field(description="The visit's consent is on file (signed, or no form to sign).")
    form_id: int | None = Field(description="The form in use for the visit's treatment.")
    form_version: int | None
    consent_id: int | None = Field(description="The signature that covers it, or the latest that no longer does.")


class UpcomingOut(Shape):
    visit_id: int
    start: datetime = Field(description="The clinic's local time, with its UTC offset.")
    clinic: int
    treatment: str
    treatment_name: str
    consent: CoverageOut


class PatientConsentsOut(Shape):
    patient_id: int
    consents: list[SignatureOut] = Field(description="Every signature, newest first, withdrawn ones too.")
    upcoming: list[UpcomingOut] = Field(description="Booked visits still to come, earliest first.")


class SignatureIn(Shape):
    clinic_id: Annotated[int, Field(ge=1, le=LARGEST_ID)]
    treatment: Annotated[str, text(64, 1), Field(description="A treatment slug, e.g. botox.")]
    version: Annotated[
        int,
        Field(ge=1, le=LARGEST_ID, description="The version read; if the form changed since, 409 and nothing signed."),
    ]
    signed_name: Annotated[
        str, Plain, Field(description=f"The patient's full name as the clinic has it (at most {LONGEST_NAME}).")
    ]
    agreed: bool = Field(description="The patient read the form and agrees to it: must be true.")
    on_paper: bool = Field(
        default=False,
        description="Staff recording a form the patient signed by hand: must be true for staff, false for a patient.",
    )
    signed_on: date | None = Field(
        default=None,
        description="A paper form's day as written on it (YYYY-MM-DD; today when left out): its year of validity "
        "counts from it. Not before its version was put in use, not after today; never for a signature online.",
    )


class WithdrawnOut(Shape):
    consent: SignatureOut
    already_withdrawn: bool = Field(description="It was withdrawn before this call: nothing changed.")


def _names(kb: KnowledgeBase) -> dict[str, str]:
    return {slug: treatment.name for slug, treatment in kb.treatments.items()}


@contextmanager
def _named_in_body() -> Iterator[None]:
    """The patient in the path that does not exist is 404; a clinic or treatment the body named, 422 naming the
    body's field, as everywhere a record is named in a body."""
    try:
        yield
    except ServiceNotFound as error:
        if error.field == "patient":
            raise NotFound(error.field, error.problem) from None
        raise InputError(BODY_FIELDS.get(error.field, error.field), error.problem) from None


def _signer_may(user: User, on_paper: bool) -> None:
    if user.role is Role.PATIENT and on_paper:
        raise InputError("on_paper", "staff record signed paper forms; sign the form in use here yourself")
    if user.is_staff and not on_paper:
        raise InputError(
            "on_paper", "staff record only a paper form the patient signed (on_paper: true); a patient signs online"
        )


@router.get(
    FORMS,
    response_model=list[ClinicFormRow],
    responses=NOT_FOUND,
    summary="Each treatment the clinic offers, by name, with its consent form in use or null",
)
def clinic_forms(request: Request, clinic_id: Id) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        offered = offers.offers(uow.session, clinic_id, knowledge_base(request))
        forms = forms_of_clinic(uow.session, clinic_id)
    rows = [
        {
            "treatment": offer.treatment,
            "name": offer.name,
            "active": offer.active,
            "form": form_dict(forms[offer.treatment]) if offer.treatment in forms else None,
        }
        for offer in offered
    ]
    return JSONResponse(rows)


@router.get(
    FORMS + "/{treatment}",
    response_model=FormVersionsOut,
    responses=NOT_FOUND,
    summary="The clinic's consent form in use for a treatment, and its earlier versions",
    description="404 when the clinic has no form for the treatment (it asks no written consent for it).",
)
def clinic_form(request: Request, clinic_id: Id, treatment: Slug) -> JSONResponse:
    with UnitOfWork(store(request)) as uow, found_by_path():
        clinic = get_clinic(uow.session, clinic_id)
        versions = form_versions(uow.session, clinic_id, treatment)
        if not versions:
            raise ServiceNotFound("treatment", f"{clinic.name} has no consent form for {treatment!r}")
    return JSONResponse({"form": form_dict(versions[0]), "earlier_versions": [form_dict(v) for v in versions[1:]]})


@router.put(
    FORMS + "/{treatment}",
    response_model=WrittenOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Put a consent form in use for a treatment the clinic offers (the clinic's administrator)",
    description="A new version, unless the text is the version in use already (`changed: false`). Signatures on "
    "earlier versions stop covering visits: patients sign the new one. 422 names every field at fault.",
)
def put_form(request: Request, clinic_id: Id, treatment: Slug, body: FormIn, user: Admin) -> JSONResponse:
    administers(user, clinic_id)
    if not re.fullmatch(NOTE, body.body):
        raise InputError("body", "no control characters other than line breaks and tabs")
    with found_by_path():
        try:
            written = write_form(
                store(request),
                clinic_id=clinic_id,
                treatment=treatment,
                title=body.title,
                body=body.body,
                actor=user.actor,
                based_on=body.based_on_version,
            )
        except Refused as refused:  # another version was saved since the one written from
            return JSONResponse(refusal_body(refused.problems), status_code=409)
    return JSONResponse({"form": form_dict(written.form), "changed": written.changed})


@router.get(
    SIGNATURES,
    response_model=PatientConsentsOut,
    responses={**ALLOWED, **NOT_FOUND},
    summary="A patient's signed consent forms, and whether each upcoming visit's consent is on file (staff and the "
    "patient)",
)
def patient_consents(request: Request, patient_id: Id, user: ConsentReader, at: NowDep) -> JSONResponse:
    may_see(user, patient_id)
    names = _names(knowledge_base(request))
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        if uow.session.get(models.Patient, patient_id) is None:
            raise ServiceNotFound("patient", f"no patient {patient_id}")
        theirs = signatures_of(uow.session, patient_id)
        signed = [signature_dict(found, names) for found in theirs]
        upcoming = [
            {
                "visit_id": visit.id,
                "start": visit.start_at.astimezone(clinic_zone(visit.clinic.time_zone)).isoformat(),
                "clinic": visit.clinic_id,
                "treatment": visit.treatment_slug,
                "treatment_name": names.get(visit.treatment_slug, visit.treatment_slug),
                "consent": coverage_dict(coverage),
            }
            for visit, coverage in upcoming_coverage(uow.session, patient_id, at, theirs)
        ]
        audit_read(uow.session, user, "patient-consents", patient_id)
        uow.commit()
    return JSONResponse({"patient_id": patient_id, "consents": signed, "upcoming": upcoming})


@router.post(
    SIGNATURES,
    status_code=201,
    response_model=SignatureOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Sign the clinic's consent form in use (the patient), or record a paper form the patient signed (staff)",
    description="`signed_name` must be the patient's full name as the clinic has it, and `agreed` true. A patient "
    "signs online (`on_paper` false); staff record only a form signed on paper (`on_paper` true). 409 "
    "`consent-form-changed` when `version` is no longer the form in use: nothing is signed; read it again.",
)
def sign_form(
    request: Request, patient_id: Id, body: SignatureIn, user: ConsentChanger, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    may_see(user, patient_id)
    _signer_may(user, body.on_paper)
    names = _names(knowledge_base(request))

    def change() -> tuple[int, dict[str, Any]]:
        with _named_in_body():
            signed = sign(
                store(request),
                patient_id=patient_id,
                clinic_id=body.clinic_id,
                treatment=body.treatment.strip(),
                version=body.version,
                signed_name=body.signed_name,
                agreed=body.agreed,
                on_paper=body.on_paper,
                signed_on=body.signed_on,
                actor=user.actor,
            )
        return 201, signature_dict(signed, names)

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.post(
    "/consents/{consent_id}/withdraw",
    response_model=WithdrawnOut,
    responses={**ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Withdraw a signed consent: it no longer covers any visit (the patient, their own; staff, any)",
    description="Withdrawing a consent already withdrawn changes nothing and answers it again (`already_withdrawn`).",
)
def withdraw_consent(
    request: Request, consent_id: Id, user: ConsentChanger, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    if user.role is Role.PATIENT and user.patient_id is None:  # a patient's account names its patient: never so
        raise NotFound("consent", f"no consent {consent_id}")
    own = user.patient_id if user.role is Role.PATIENT else None
    names = _names(knowledge_base(request))

    def change() -> tuple[int, dict[str, Any]]:
        with found_by_path():
            done = withdraw(store(request), consent_id, actor=user.actor, patient_id=own)
        return 200, {"consent": signature_dict(done.signature, names), "already_withdrawn": done.already}

    return answer(request, user, idempotency_key, {}, change)
