"""Deposits at the front desk: each step recorded from the patient chart, and the clinic's list of what is left
to do with its deposits and of its late cancellations and no-shows.

safewindow takes no payments: staff take, refund or keep the money at the clinic's terminal or till and record
here what happened. Any staff member who works at the visit's clinic records its deposit (front desk,
practitioner, clinic administrator, as for a visit's outcome); the deposits service says which step may follow
which, and a step refused shows the chart with why, nothing written. A step recorded leads back to the chart
(post, redirect, get: reloading it records nothing twice), with a notice. A patient's own account never reaches
these routes (403).

The list is for the clinic chosen as on the calendar, and its every view is audited, as charts are: it names
patients."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.deposits import Step
from safewindow.services.accounts import User
from safewindow.services.booking import Problem, Refused
from safewindow.services.deposits import LONGEST, LateOrMissed, late_and_missed, record_step, to_act_on
from safewindow.services.errors import FieldProblems, InputError
from safewindow.services.report_days import report_days
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.deposit_words import STATES, TODOS
from safewindow.web.pages_account import Fields, RecordId, StaffUser, read_form, render, summary_of
from safewindow.web.pages_staff import chart_page, chosen_clinic, patient_of_visit_here

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
FIELD_LABELS = {"method": "How it was paid", "reference": "Receipt or reference number", "reason": "Why it is waived"}
LIST_LABELS = {"clinic": "Clinic", "from": "From", "to": "To"}


@router.post("/staff/visits/{visit_id}/deposit")
async def deposit_sent(request: Request, user: StaffUser, visit_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_record, request, user, visit_id, fields)


def _record(request: Request, user: User, visit_id: int, fields: Fields) -> Response:
    """The step recorded, or the chart again with the form as sent and what is wrong, or why it was refused."""
    patient_id = patient_of_visit_here(request, user, visit_id)
    try:
        step = Step(fields.text("step", 16))
    except ValueError:
        problems = [Problem("deposit-step", "Choose a step of the deposit the chart offers.")]
        return chart_page(request, user, patient_id, {"deposit_problems": problems}, status=400)
    sent = {
        "step": str(step),
        "method": fields.text("method", 16),
        "reference": fields.text("reference", LONGEST["reference"]),
        "reason": fields.text("reason", LONGEST["reason"]),
    }
    try:
        record_step(
            store(request),
            visit_id=visit_id,
            step=step,
            actor=user.actor,
            method=sent["method"] or None,
            reference=sent["reference"],
            reason=sent["reason"],
        )
    except FieldProblems as problems:
        errors = dict(problems.problems)
        summary = [(f"deposit-{visit_id}-{step}-{field}", text) for field, text in summary_of(errors, FIELD_LABELS)]
        extra = {"deposit_visit": visit_id, "deposit_sent": sent, "deposit_errors": errors, "deposit_summary": summary}
        return chart_page(request, user, patient_id, extra, status=400)
    except Refused as refused:
        extra = {"deposit_visit": visit_id, "deposit_sent": sent, "deposit_problems": refused.problems}
        return chart_page(request, user, patient_id, extra, status=409)
    return RedirectResponse(f"/staff/patients/{patient_id}?deposit={visit_id}&step={step}#deposit-{visit_id}", 303)


# --- The clinic's list --------------------------------------------------------------------------------------------


@router.get("/staff/deposits")
def deposits(
    request: Request,
    user: StaffUser,
    clinic: str = "",
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
) -> Response:
    first_text, last_text = from_.strip()[:20], to.strip()[:20]
    errors: dict[str, str] = {}
    with UnitOfWork(store(request), write=True) as uow:
        session = uow.session
        chosen, clinics, problem = chosen_clinic(session, user, clinic.strip()[:12])
        if problem:
            errors["clinic"] = problem
        zone = clinic_zone(chosen.time_zone)
        today = clinic_today(zone)
        first, last = _days(first_text, last_text, today, errors)
        pending = to_act_on(session, chosen.id)  # times on the clinic's clock
        missed: list[LateOrMissed] = late_and_missed(session, chosen.id, first, last) if first and last else []
        # Who looked at which clinic's list, and when (it names patients): ids only, as for a chart.
        audit_read(session, user, "clinic-deposits", chosen.id)
        uow.commit()
    context = {
        "page": "deposits",
        "kb": knowledge_base(request),
        "clinic": chosen,
        "clinics": clinics,
        "pending": pending,
        "missed": missed,
        "first": first,
        "last": last,
        "from_day": first_text or (first.isoformat() if first else ""),
        "to_day": last_text or (last.isoformat() if last else ""),
        "states": STATES,
        "todos": TODOS,
        "errors": errors,
        "summary": summary_of(errors, LIST_LABELS),
    }
    return render(request, "staff_deposits.html", context, user=user, status=400 if errors else 200)


def _days(first_text: str, last_text: str, today: date, errors: dict[str, str]) -> tuple[date | None, date | None]:
    """The days asked for (the last 30 by default), or None with the problem in `errors`."""
    try:
        return report_days(first_text or None, last_text or None, today)
    except FieldProblems as problems:
        errors.update(problems.problems)
    except InputError as error:
        errors[error.field] = error.problem
    return None, None
