"""Consent forms from the staff's side (services/consents.py): on the patient chart, where each upcoming visit's
consent stands, the patient's signatures, and the form to record a consent the patient signed on paper; the
exact words of one signature (every view audited, as the chart's are); withdrawing a signature; and the clinic
administrator's editor of the clinic's forms, one per treatment, each change a new version.

Any staff role records a signed paper form or a withdrawal (it is what the patient did at the desk), at a clinic
where they work, as they book only there; a patient's account never reaches these routes (403). A change done
leads back to where it was made (post, redirect, get: reloading it changes nothing), with a notice; bad input is
said beside its field (400) with nothing written, and a refusal (the form changed since the version read) is a
409 with its reason. A signed form is the written record of consent: the practitioner still confirms informed
consent with the patient at the visit, and every page says so.

The chart's GET is built in pages_staff.py: the chart (services/chart.py) carries each visit's coverage and the
patient's signatures, and `consent_choices` adds the forms this staff member may record."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.consent import LONGEST_BODY, LONGEST_TITLE, VALID_FOR, Form
from safewindow.services import offers
from safewindow.services.accounts import User, actor_names
from safewindow.services.advice import parse_day
from safewindow.services.booking import Refused
from safewindow.services.consents import (
    LONGEST_NAME,
    draft,
    form_for,
    form_versions,
    forms_of_clinic,
    sign,
    signature,
    withdraw,
    write_form,
)
from safewindow.services.errors import FieldProblems, InputError
from safewindow.services.errors import NotFound as NoSuchRecord
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, check_csrf, may_see_patient, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import AdminUser, RecordId, StaffUser, read_form, render, summary_of
from safewindow.web.pages_admin import administered_clinic, administered_clinic_id
from safewindow.web.pages_staff import chart_page, staff_clinics

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
CHART_FIELD = "consent-"  # the chart holds other forms: the paper form's ids carry this prefix
LABELS = {
    "form": "Form signed",
    "version": "Version on the paper form",
    "signed_name": "Name as signed",
    "signed_on": "Date signed",
    "agreed": "Paper form filed",
}
FORM_LABELS = {"title": "Title", "body": "What the patient agrees to"}
# Read with room to spare (a browser sends a textarea's line ends as CR LF), so the service's own limits decide.
TITLE_READ, BODY_READ = 4 * LONGEST_TITLE, 2 * LONGEST_BODY
Treatment = Annotated[str, Path(min_length=1, max_length=64)]


# --- A signed paper form, recorded on the chart -------------------------------------------------------------------


@router.post("/staff/patients/{patient_id}/consents")
async def paper_consent_sent(request: Request, user: StaffUser, patient_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    sent = {
        "form": fields.text("form", 80),
        "version": fields.text("version", 10),
        "signed_name": fields.text("signed_name", 2 * LONGEST_NAME),
        "signed_on": fields.text("signed_on", 20),
        "agreed": "yes" if fields.text("agreed", 10) == "yes" else "",
    }
    return await run_in_threadpool(_record_paper, request, user, patient_id, sent)


def _chosen(text: str) -> tuple[int, str] | None:
    """The form chosen, as the chart's option names it: `clinic id:treatment`."""
    clinic, _, treatment = text.partition(":")
    if not clinic.isdigit() or len(clinic) > 9 or not treatment:
        return None
    return int(clinic), treatment


def _in_use_here(request: Request, user: User, patient_id: int, chosen: tuple[int, str]) -> Form | None:
    """The form in use that was chosen, at a clinic where this user works (anything else is a forged form: 403);
    None when the clinic has no form for the treatment (any longer)."""
    clinic_id, treatment = chosen
    with UnitOfWork(store(request)) as uow:
        if uow.session.get(models.Patient, patient_id) is None:
            raise NotFound("patient", f"no patient {patient_id}")
        if clinic_id not in {clinic.id for clinic in staff_clinics(uow.session, user)}:
            raise HTTPException(403, f"you do not work at clinic {clinic_id}; its staff record its consent forms")
        return form_for(uow.session, clinic_id, treatment)


def _record_paper(request: Request, user: User, patient_id: int, sent: dict[str, str]) -> Response:
    """The signed paper form recorded, or the chart again with the form as sent and what is wrong beside each
    field (nothing written)."""
    may_see_patient(user, patient_id)
    errors: dict[str, str] = {}
    chosen = _chosen(sent["form"])
    in_use = _in_use_here(request, user, patient_id, chosen) if chosen else None
    if in_use is None:
        errors["form"] = "choose the form the patient signed" if chosen is None else "the clinic has no such form"
    version = None
    if sent["version"]:
        if not sent["version"].isdigit() or len(sent["version"]) > 6:
            errors["version"] = f"{sent['version'][:10]!r} is not a version number: give it as printed, such as 1"
        else:
            version = int(sent["version"])
            if version < 1 or (in_use is not None and version > in_use.version):
                in_use_now = f": the form in use is version {in_use.version}" if in_use else ""
                errors["version"] = f"there is no version {version}{in_use_now}"
    signed_on = None
    if sent["signed_on"]:
        try:
            signed_on = parse_day(sent["signed_on"], "signed_on")
        except InputError as error:
            errors["signed_on"] = error.problem
    try:
        # With a problem found here the service must write nothing, yet still check the other fields: without a
        # version it always refuses, naming them all.
        signed = sign(
            store(request),
            patient_id=patient_id,
            clinic_id=in_use.clinic_id if in_use else 0,
            treatment=in_use.treatment if in_use else "",
            version=None if errors else version,
            signed_name=sent["signed_name"],
            agreed=sent["agreed"] == "yes",
            actor=user.actor,
            on_paper=True,
            signed_on=signed_on,
        )
    except FieldProblems as problems:
        for field, problem in problems.problems:
            if field == "version" and (version is not None or "version" in errors):
                continue  # the version was given: the service was asked without it, so that it writes nothing
            errors.setdefault(field if field in LABELS else "form", _paper_words(field, problem, sent))
    except NoSuchRecord as missing:
        if missing.field == "patient":
            raise NotFound("patient", missing.problem) from None
        errors.setdefault("form", missing.problem)
    except Refused as refused:
        extra = {"consent_sent": sent, "consent_problems": refused.problems}
        return chart_page(request, user, patient_id, extra, status=409)
    if not errors:  # to the chart, so reloading it cannot record the form twice
        return RedirectResponse(f"/staff/patients/{patient_id}?consented={signed.id}#consents", 303)
    summary = [(CHART_FIELD + field, text) for field, text in summary_of(errors, LABELS)]
    extra = {"consent_sent": sent, "consent_errors": errors, "consent_summary": summary}
    return chart_page(request, user, patient_id, extra, status=400)


def _paper_words(field: str, problem: str, sent: dict[str, str]) -> str:
    """The service speaks to a patient signing online; staff recording a paper form are told what they missed."""
    if field == "agreed":
        return "tick the box once the patient has signed the paper form and it is filed"
    if field == "signed_name" and not sent["signed_name"]:
        return "type the name as the patient signed it on the paper form"
    if field == "version":
        return "give the version printed on the paper form"
    return problem


# --- One signature: the exact words, and withdrawing it ------------------------------------------------------------


@router.get("/staff/consents/{consent_id}")
def consent_page(request: Request, user: StaffUser, consent_id: RecordId, withdrawn: int = 0) -> Response:
    kb = knowledge_base(request)
    # The read and its audit entry in one transaction, as the chart's: no signature is shown unaccounted for.
    with UnitOfWork(store(request), write=True) as uow:
        try:
            found = signature(uow.session, consent_id)
        except NoSuchRecord:
            raise NotFound("consent", f"no consent {consent_id}") from None
        patient = uow.session.get(models.Patient, found.patient_id)
        clinic = uow.session.get(models.Clinic, found.form.clinic_id)
        assert patient is not None and clinic is not None  # a signature's patient and clinic are never deleted
        in_use = form_for(uow.session, clinic.id, found.form.treatment)
        may_withdraw = clinic.id in {c.id for c in staff_clinics(uow.session, user)}
        actors = {found.recorded_by, found.form.written_by, *([found.withdrawn_by] if found.withdrawn_by else [])}
        names = actor_names(uow.session, actors)
        audit_read(uow.session, user, "consent", consent_id)
        uow.commit()
    zone = clinic_zone(clinic.time_zone)
    context = {
        "page": "patients",
        "found": found,
        "patient_name": patient.name,
        "clinic": clinic.name,
        "treatment": kb.treatments[found.form.treatment].name if found.form.treatment in kb.treatments else "",
        "in_use": in_use,
        "today": clinic_today(zone),
        "signed_at": found.signed_at.astimezone(zone),
        "withdrawn_at": found.withdrawn_at.astimezone(zone) if found.withdrawn_at else None,
        "last_day": found.signed_day + VALID_FOR - timedelta(days=1),  # the last visit day it may cover
        "may_withdraw": may_withdraw,
        "who": lambda actor: names.get(actor, actor),
        "notice": {1: "withdrawn", 2: "already"}.get(withdrawn, ""),
    }
    return render(request, "staff_consent.html", context, user=user)


@router.post("/staff/consents/{consent_id}/withdraw")
async def withdraw_sent(request: Request, user: StaffUser, consent_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    back_to_chart = fields.text("back", 10) == "chart"
    return await run_in_threadpool(_withdraw, request, user, consent_id, back_to_chart)


def _withdraw(request: Request, user: User, consent_id: int, back_to_chart: bool) -> Response:
    """The signature withdrawn (the patient's decision, never refused): it covers no visit from now on."""
    with UnitOfWork(store(request)) as uow:
        try:
            found = signature(uow.session, consent_id)
        except NoSuchRecord:
            raise NotFound("consent", f"no consent {consent_id}") from None
        here = {clinic.id for clinic in staff_clinics(uow.session, user)}
    if found.form.clinic_id not in here:
        raise HTTPException(403, f"you do not work at clinic {found.form.clinic_id}; its staff record withdrawals")
    done = withdraw(store(request), consent_id, actor=user.actor)
    if back_to_chart:
        again = "&again=1" if done.already else ""
        return RedirectResponse(f"/staff/patients/{found.patient_id}?withdrawn={consent_id}{again}#consents", 303)
    return RedirectResponse(f"/staff/consents/{consent_id}?withdrawn={2 if done.already else 1}", 303)


# --- The administrator's forms ----------------------------------------------------------------------------------


@router.get("/admin/consent-forms")
def consent_forms(request: Request, user: AdminUser) -> Response:
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        clinic = administered_clinic(uow.session, user)
        offered = offers.offers(uow.session, clinic.id, kb)
        in_use = forms_of_clinic(uow.session, clinic.id)
        names = actor_names(uow.session, {form.written_by for form in in_use.values()})
    context = {
        "page": "consent-forms-admin",
        "clinic": clinic,
        "zone": clinic_zone(clinic.time_zone),
        "rows": [(offer, in_use.get(offer.treatment)) for offer in offered],
        "who": lambda actor: names.get(actor, actor),
    }
    return render(request, "admin_consent_forms.html", context, user=user)


@router.get("/admin/consent-forms/{treatment}")
def consent_form(
    request: Request, user: AdminUser, treatment: Treatment, saved: int = 0, unchanged: int = 0
) -> Response:
    return _form_page(request, user, treatment, saved=saved, unchanged=unchanged)


def _form_page(
    request: Request,
    user: User,
    treatment: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: int = 0,
    unchanged: int = 0,
    status: int = 200,
) -> Response:
    """The editor: the form in use or the knowledge base's starter (or the text as sent, with its problems), and
    the earlier versions, read-only."""
    kb = knowledge_base(request)
    errors = errors or {}
    with UnitOfWork(store(request)) as uow:
        clinic = administered_clinic(uow.session, user)
        if treatment not in kb.treatments and form_for(uow.session, clinic.id, treatment) is None:
            raise NotFound("treatment", f"the knowledge base has no treatment {treatment!r}")
        try:
            start = draft(uow.session, kb, clinic.id, treatment)
        except NoSuchRecord as missing:
            raise NotFound(missing.field, missing.problem) from None
        versions = form_versions(uow.session, clinic.id, treatment)
        names = actor_names(uow.session, {form.written_by for form in versions})
    context = {
        "page": "consent-forms-admin",
        "clinic": clinic,
        "zone": clinic_zone(clinic.time_zone),
        "treatment": treatment,
        "name": kb.treatments[treatment].name if treatment in kb.treatments else treatment,
        "draft": start,
        "earlier": versions[1:],
        "values": values or {"title": start.title, "body": start.body},
        "errors": errors,
        "summary": summary_of(errors, FORM_LABELS),
        "saved": saved if start.current and saved == start.current.version else 0,
        "unchanged": unchanged if start.current and unchanged == start.current.version else 0,
        "longest_title": LONGEST_TITLE,
        "longest_body": LONGEST_BODY,
        "who": lambda actor: names.get(actor, actor),
    }
    return render(request, "admin_consent_form.html", context, user=user, status=status)


@router.post("/admin/consent-forms/{treatment}")
async def consent_form_sent(request: Request, user: AdminUser, treatment: Treatment) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    values = {
        "title": fields.text("title", TITLE_READ),
        "body": fields.text("body", BODY_READ),
        "based_on": fields.text("based_on", 10),
    }
    return await run_in_threadpool(_save_form, request, user, treatment, values)


def _save_form(request: Request, user: User, treatment: str, values: dict[str, str]) -> Response:
    """The text put in use as a new version (or kept, when it is the version in use), or the editor again with
    the text as sent and what is wrong beside each field (nothing saved)."""
    clinic_id = administered_clinic_id(request, user)
    errors: dict[str, str] = {}
    try:
        written = write_form(
            store(request),
            clinic_id=clinic_id,
            treatment=treatment,
            title=values["title"],
            body=values["body"],
            actor=user.actor,
            # The version the editor showed: another administrator's save meanwhile is not silently replaced.
            based_on=int(values["based_on"]) if values["based_on"].isdigit() else None,
        )
    except FieldProblems as problems:
        for field, problem in problems.problems:
            errors.setdefault(field if field in FORM_LABELS else "body", problem)
    except NoSuchRecord as missing:
        raise NotFound(missing.field, missing.problem) from None
    except Refused as refused:  # saved by someone else meanwhile: their version shows, the text sent stays
        errors["body"] = refused.problems[0].message
        return _form_page(request, user, treatment, values=values, errors=errors, status=409)
    if errors:
        return _form_page(request, user, treatment, values=values, errors=errors, status=400)
    outcome = "saved" if written.changed else "unchanged"
    return RedirectResponse(f"/admin/consent-forms/{quote(treatment, safe='')}?{outcome}={written.form.version}", 303)
