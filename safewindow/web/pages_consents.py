"""A signed-in patient's consent forms (services/consents.py): which of their booked visits still wait for a
signature and why, the visits already covered, the forms they signed (the exact words, how and when) with a
way to withdraw each; reading a clinic's form in use and signing it.

Signing is an affirmative act: the box ticked and the full name on file typed, on the version the patient read.
If the clinic changes its form meanwhile the signature is refused (409) and the new words are shown, never
signed on their behalf. A problem with the form is said beside its field (400) and nothing is written; a sign
or a withdrawal leads back to the list (post, redirect, get). Another patient's signature answers 404, as if
it did not exist. The form is the clinic's and the practitioner still goes over it and decides: every page says
so. Like the other /my pages, reading one's own record is not written to the audit log; the service audits
each signature and withdrawal, by ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_zone
from safewindow.domain.consent import Coverage, Form, Signature, Standing
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.accounts import User
from safewindow.services.booking import Problem, Refused
from safewindow.services.consents import LONGEST_NAME, form_for, sign, signature, signatures_of, upcoming_coverage
from safewindow.services.consents import withdraw as withdraw_consent
from safewindow.services.errors import FieldProblems
from safewindow.services.errors import NotFound as NoSuchRecord
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import PatientUser, RecordId, read_form, render, summary_of

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
LABELS = {"agreed": "I have read and agree", "signed_name": "Your full name", "version": "The form"}
LONGEST_SLUG = 64  # clinic_treatments.treatment_slug
# Why a visit's consent is not on file, in the patient's words.
WHY = {
    Standing.NEEDED: "You have not signed this form yet.",
    Standing.NEW_VERSION: "The clinic has changed its form since you signed it: please read the new version.",
    Standing.EXPIRED: "You signed it more than a year before this visit, and consent is renewed every year.",
    Standing.WITHDRAWN: "You withdrew your consent, so the clinic asks you again before treating you.",
}


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph of a form's text (its lines) or a bulleted list (its items)."""

    kind: Literal["paragraph", "list"]
    lines: tuple[str, ...]


def blocks_of(body: str) -> list[Block]:
    """A form's text as a clinic writes it: blank lines part paragraphs, lines starting "- " are bullets. The
    words stay text: the template escapes them, so nothing a clinic types becomes markup."""
    blocks = []
    for chunk in re.split(r"\n[ \t]*\n", body.replace("\r\n", "\n")):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        for bullet, run in groupby(lines, key=lambda line: line.startswith("- ")):
            if bullet:
                blocks.append(Block("list", tuple(line[2:].strip() for line in run)))
            else:
                blocks.append(Block("paragraph", tuple(run)))
    return blocks


@dataclass(frozen=True, slots=True)
class VisitConsent:
    """One booked visit still to come and where its consent stands, for the list."""

    visit_id: int
    clinic_id: int
    clinic: str
    treatment: str
    treatment_name: str
    start: datetime  # on the clinic's clock
    coverage: Coverage

    @property
    def why(self) -> str:
        return WHY.get(self.coverage.standing, "")


@dataclass(frozen=True, slots=True)
class Signed:
    """One of the patient's signatures, with the clinic's name and clock."""

    signature: Signature
    clinic: str
    zone: ZoneInfo

    @property
    def signed_at(self) -> datetime:
        return self.signature.signed_at.astimezone(self.zone)

    @property
    def withdrawn_at(self) -> datetime | None:
        at = self.signature.withdrawn_at
        return at.astimezone(self.zone) if at else None


def _clinics(session: Session, ids: set[int]) -> dict[int, tuple[str, ZoneInfo]]:
    rows = session.execute(
        select(models.Clinic.id, models.Clinic.name, models.Clinic.time_zone).where(models.Clinic.id.in_(ids))
    )
    return {clinic_id: (name, clinic_zone(zone)) for clinic_id, name, zone in rows}


def _name_of(kb: KnowledgeBase, treatment: str) -> str:
    known = kb.treatments.get(treatment)
    return known.name if known else treatment


def _signed(session: Session, found: list[Signature]) -> list[Signed]:
    clinics = _clinics(session, {s.form.clinic_id for s in found})
    return [Signed(s, *clinics[s.form.clinic_id]) for s in found]


# --- The list -----------------------------------------------------------------------------------------------------


@router.get("/my/consents")
def my_consents(request: Request, user: PatientUser, signed: int = 0, withdrawn: int = 0, already: int = 0) -> Response:
    assert user.patient_id is not None
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        mine_signed = signatures_of(uow.session, user.patient_id)
        upcoming = upcoming_coverage(uow.session, user.patient_id, signed=mine_signed)
        clinics = _clinics(uow.session, {visit.clinic_id for visit, _ in upcoming})
        visits = [
            VisitConsent(
                visit.id,
                visit.clinic_id,
                clinics[visit.clinic_id][0],
                visit.treatment_slug,
                _name_of(kb, visit.treatment_slug),
                visit.start_at.astimezone(clinics[visit.clinic_id][1]),
                found,
            )
            for visit, found in upcoming
        ]
        signatures = _signed(uow.session, mine_signed)
    mine = {s.signature.id: s.signature for s in signatures}
    notice = ""
    if signed in mine:
        notice = f"You signed {mine[signed].form.title} (version {mine[signed].form.version})."
    elif withdrawn in mine:
        notice = (
            f"You withdrew your consent to {mine[withdrawn].form.title}. "
            "The clinic will ask you again before treating you."
        )
    elif already in mine:
        notice = f"Your consent to {mine[already].form.title} was already withdrawn; nothing changed."
    context = {
        "page": "my-consents",
        "needed": [v for v in visits if not v.coverage.covered],
        "covered": [v for v in visits if v.coverage.covered],
        "signatures": signatures,
        "notice": notice,
    }
    return render(request, "my_consents.html", context, user=user)


# --- One signature: the exact words signed ------------------------------------------------------------------------
# Before the form's routes: "/my/consents/signed/1" would otherwise be read as clinic "signed", treatment "1".


@router.get("/my/consents/signed/{consent_id}")
def my_signed_consent(request: Request, user: PatientUser, consent_id: RecordId) -> Response:
    assert user.patient_id is not None
    with UnitOfWork(store(request)) as uow:
        try:
            found = signature(uow.session, consent_id, patient_id=user.patient_id)
        except NoSuchRecord:
            raise NotFound("consent", f"you have no signed consent form {consent_id}") from None
        (shown,) = _signed(uow.session, [found])
        in_use = form_for(uow.session, found.form.clinic_id, found.form.treatment)
    context = {
        "page": "my-consents",
        "signed": shown,
        "form": found.form,
        "blocks": blocks_of(found.form.body),
        "treatment_name": _name_of(knowledge_base(request), found.form.treatment),
        "in_use": in_use,
    }
    return render(request, "my_consent_signed.html", context, user=user)


@router.post("/my/consents/signed/{consent_id}/withdraw")
async def withdraw_sent(request: Request, user: PatientUser, consent_id: RecordId) -> Response:
    check_csrf(request, user, (await read_form(request)).csrf)
    return await run_in_threadpool(_withdraw, request, user, consent_id)


def _withdraw(request: Request, user: User, consent_id: int) -> Response:
    if user.patient_id is None:  # without it the service would let anyone's signature go
        raise NotFound("consent", f"you have no signed consent form {consent_id}")
    try:
        done = withdraw_consent(store(request), consent_id, actor=user.actor, patient_id=user.patient_id)
    except NoSuchRecord:
        raise NotFound("consent", f"you have no signed consent form {consent_id}") from None
    return RedirectResponse(f"/my/consents?{'already' if done.already else 'withdrawn'}={consent_id}", 303)


# --- Reading and signing the form in use --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    agreed: bool
    signed_name: str
    version: int | None


def _form_in_use(session: Session, clinic_id: int, treatment: str) -> tuple[models.Clinic, Form]:
    """The clinic's form in use for a treatment it offers (offered as the service counts it); else 'not found'."""
    clinic = session.get(models.Clinic, clinic_id)
    if clinic is None or len(treatment) > LONGEST_SLUG:
        raise NotFound("clinic", f"no clinic {clinic_id} offering {treatment[:LONGEST_SLUG]!r}")
    if treatment not in {t.treatment_slug for t in clinic.treatments}:
        raise NotFound("treatment", f"{clinic.name} does not offer {treatment!r}")
    form = form_for(session, clinic_id, treatment)
    if form is None:
        raise NotFound("treatment", f"{clinic.name} has no consent form for {treatment!r}")
    return clinic, form


def _sign_page(
    request: Request,
    user: User,
    clinic_id: int,
    treatment: str,
    *,
    values: Sent | None = None,
    errors: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> Response:
    assert user.patient_id is not None
    with UnitOfWork(store(request)) as uow:
        clinic, form = _form_in_use(uow.session, clinic_id, treatment)
        patient = uow.session.get(models.Patient, user.patient_id)
        if patient is None:
            raise NotFound("patient", f"no patient {user.patient_id}")
        clinic_name, name_on_file = clinic.name, patient.name
        signed_already = [
            s for s in signatures_of(uow.session, user.patient_id) if s.form.id == form.id and not s.withdrawn
        ]
    errors = errors or {}
    summary = [("version-error" if f == "version" else f, text) for f, text in summary_of(errors, LABELS)]
    context = {
        "page": "my-consents",
        "form": form,
        "blocks": blocks_of(form.body),
        "clinic": clinic_name,
        "treatment_name": _name_of(knowledge_base(request), treatment),
        "name_on_file": name_on_file,
        "signed_already": signed_already[0] if signed_already else None,
        "values": values or Sent(False, "", None),
        "errors": errors,
        "summary": summary,
        "problems": problems or [],
        # The clinic changed the form after the patient opened it: the words shown now are not those they read.
        "changed_since": values is not None and values.version not in (None, form.version),
    }
    return render(request, "my_consent.html", context, user=user, status=status)


@router.get("/my/consents/{clinic_id}/{treatment}")
def consent_form(request: Request, user: PatientUser, clinic_id: RecordId, treatment: str) -> Response:
    return _sign_page(request, user, clinic_id, treatment)


def _version(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 9 else None


@router.post("/my/consents/{clinic_id}/{treatment}")
async def consent_signed(request: Request, user: PatientUser, clinic_id: RecordId, treatment: str) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    sent = Sent(
        agreed=fields.text("agreed", 10) == "yes",
        signed_name=fields.text("signed_name", LONGEST_NAME),
        version=_version(fields.text("version", 10)),
    )
    return await run_in_threadpool(_sign, request, user, clinic_id, treatment, sent)


def _sign(request: Request, user: User, clinic_id: int, treatment: str, sent: Sent) -> Response:
    """The signature recorded, or the form again: with each problem beside its field (nothing written), or with
    the clinic's new words when the form changed after the patient read it."""
    assert user.patient_id is not None
    if len(treatment) > LONGEST_SLUG:
        raise NotFound("treatment", f"no treatment {treatment[:LONGEST_SLUG]!r}")
    try:
        signed = sign(
            store(request),
            patient_id=user.patient_id,
            clinic_id=clinic_id,
            treatment=treatment,
            version=sent.version,
            signed_name=sent.signed_name,
            agreed=sent.agreed,
            actor=user.actor,
            on_paper=False,
        )
    except NoSuchRecord as missing:
        raise NotFound(missing.field, missing.problem) from None
    except FieldProblems as problems:
        return _sign_page(request, user, clinic_id, treatment, values=sent, errors=dict(problems.problems), status=400)
    except Refused as refused:
        # New words: the box is ticked again only once they are read; the typed name may stay.
        kept = Sent(False, sent.signed_name, None)
        return _sign_page(request, user, clinic_id, treatment, values=kept, problems=refused.problems, status=409)
    return RedirectResponse(f"/my/consents?signed={signed.id}", 303)
