"""Treatment records on the patient chart, and the lot search.

Once a visit is recorded as completed, its practitioner (any practitioner: only they chart what was given) records
the product, its lot number and expiry, the dose, the areas, a note and their confirmation that the patient gave
informed consent, and for an injected treatment the amount given at each site of its injection map (blank where
nothing was); a correction is a new record, and the chart shows the earlier ones as amended. Any other role's
form is a 403, and staff with a home clinic record only that clinic's visits. A record done leads back to the chart
(post, redirect, get: reloading it writes nothing), with a notice; a record refused shows the chart with the form
as sent and what is wrong beside each field.

The lot search finds every patient whose visit's record names a lot, for a product recall: practitioners and
clinic administrators may search (their home clinic's visits, or every clinic's), and each search is audited by
the lot searched for, never by what the records say."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.services.accounts import User
from safewindow.services.advice import parse_day
from safewindow.services.booking import Refused
from safewindow.services.errors import FieldProblems, InputError
from safewindow.services.treatment_records import LONGEST, LotVisit, lot_number, record_treatment, visits_with_lot
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.pages_account import Fields, RecordId, StaffUser, read_form, render, summary_of
from safewindow.web.pages_staff import chart_page, practitioner_only, visit_here

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
LABELS = {
    "product": "Product",
    "lot_number": "Lot number",
    "expires_on": "Expiry date",
    "dose": "Dose",
    "areas": "Areas treated",
    "note": "Note",
    "consent": "Informed consent",
}
MAY_SEARCH_LOTS = (Role.PRACTITIONER, Role.CLINIC_ADMIN)
MAP_FIELD = "injection_points"  # the service's name for the map, and `MAP_FIELD.site` for one of its points
LONGEST_AMOUNT = 20  # characters: more than any amount a practitioner types
NOT_A_NUMBER = "give the amount as a number, such as 2.5"


def record_field_id(visit_id: int, field: str) -> str:
    """The id of a field of the visit's record form (the chart has one form per completed visit)."""
    return f"record-{visit_id}-{field}"


@router.post("/staff/visits/{visit_id}/record")
async def record_sent(request: Request, user: StaffUser, visit_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    practitioner_only(user, "record what was given; ask the practitioner")
    return await run_in_threadpool(_record, request, user, visit_id, fields)


def _record(request: Request, user: User, visit_id: int, fields: Fields) -> Response:
    """The record written, or the chart again with the form as sent and what is wrong beside each field."""
    patient_id, treatment = visit_here(request, user, visit_id)
    maps = default_injection_maps()
    sites = maps.sites_for(treatment)
    # Only the sites the form offers are read: another site sent by hand is not part of this form.
    amounts = {f"point-{site.id}": fields.text(f"point-{site.id}", LONGEST_AMOUNT) for site in sites}
    points = [(name.removeprefix("point-"), amount) for name, amount in amounts.items() if amount]
    sent = {
        "product": fields.text("product", LONGEST["product"]),
        "lot_number": fields.text("lot_number", LONGEST["lot_number"]),
        "expires_on": fields.text("expires_on", 20),
        "dose": fields.text("dose", LONGEST["dose"]),
        "areas": fields.text("areas", LONGEST["areas"]),
        "note": fields.text("note", LONGEST["note"]),
        "consent": fields.text("consent", 10),
        **amounts,
    }
    # A longer amount is named, never cut short into another number.
    errors = {name: NOT_A_NUMBER for name, a in amounts.items() if len(a) > LONGEST_AMOUNT}
    expires_on = None
    if sent["expires_on"]:
        try:
            expires_on = parse_day(sent["expires_on"], "expires_on")
        except InputError as error:
            errors["expires_on"] = error.problem
    try:
        record_treatment(
            store(request),
            visit_id=visit_id,
            product=sent["product"],
            lot=sent["lot_number"],
            expires_on=expires_on,
            dose=sent["dose"],
            areas=sent["areas"],
            note=sent["note"],
            # With a bad expiry date or amount nothing may be written, but every other field is still checked:
            # the service then refuses for want of consent, which is not said when it was given.
            consent=sent["consent"] == "yes" and not errors,
            actor=user.actor,
            points=points,
            maps=maps,
        )
    except FieldProblems as problems:
        for field, problem in problems.problems:
            errors.setdefault(_form_field(field), problem)
        if sent["consent"] == "yes":
            errors.pop("consent", None)
    except Refused as refused:
        extra = {"record_form": sent, "record_visit": visit_id, "record_problems": refused.problems}
        return chart_page(request, user, patient_id, extra, status=409)
    if not errors:  # to the chart, so reloading it cannot write a second record
        return RedirectResponse(f"/staff/patients/{patient_id}?treated={visit_id}#record-{visit_id}", 303)
    labels = {**LABELS, "points": "Injection map", **{f"point-{site.id}": site.name for site in sites}}
    summary = [(record_field_id(visit_id, f), text) for f, text in summary_of(errors, labels)]
    extra = {"record_form": sent, "record_visit": visit_id, "record_errors": errors, "record_summary": summary}
    return chart_page(request, user, patient_id, extra, status=400)


def _form_field(field: str) -> str:
    """The form's field for one the service names: a point's input, or the map's fieldset as a whole."""
    if field.startswith(MAP_FIELD):
        site = field.removeprefix(MAP_FIELD).removeprefix(".")
        return f"point-{site}" if site else "points"
    return field if field in LABELS else "product"


# --- The lot search ---------------------------------------------------------------------------------------------


@router.get("/staff/lots")
def lots(request: Request, user: StaffUser, lot: str = "") -> Response:
    if user.role not in MAY_SEARCH_LOTS:
        raise HTTPException(403, f"a {user.role} may not search treatment records by lot; ask a practitioner")
    asked = lot.strip()[: LONGEST["lot_number"] + 1]
    errors: dict[str, str] = {}
    found: list[LotVisit] = []
    searched = ""
    with UnitOfWork(store(request), write=True) as uow:
        clinic = uow.session.get(models.Clinic, user.clinic_id) if user.clinic_id is not None else None
        if asked:
            try:
                searched = lot_number(asked)
            except InputError as error:
                errors["lot"] = error.problem
            else:
                found = visits_with_lot(uow.session, searched, clinic_id=user.clinic_id)
                # Who looked for which lot, and when: the lot only, never what the records say (BC PIPA).
                audit_read(uow.session, user, "lot", searched)
                uow.commit()
    context = {
        "page": "lots",
        "kb": knowledge_base(request),
        "lot": asked,
        "searched": searched,
        "found": found,
        "clinic": clinic.name if clinic is not None else "",
        "errors": errors,
        "summary": summary_of(errors, {"lot": "Lot number"}),
    }
    return render(request, "staff_lots.html", context, user=user, status=400 if errors else 200)
