"""Recording what happened at a visit from the patient chart: the patient came (completed) or did not (no-show).
The chart offers it for every visit that has begun and was not cancelled, and a mistaken one may be corrected.
Staff with a home clinic record outcomes there only, as they book only there."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.services.accounts import User
from safewindow.services.booking import Problem, Refused
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.web.auth import check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.pages_account import Fields, RecordId, StaffUser, read_form
from safewindow.web.pages_staff import chart_page, patient_of_visit_here

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.post("/staff/visits/{visit_id}/outcome")
async def outcome_sent(request: Request, user: StaffUser, visit_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_record, request, user, visit_id, fields)


def _record(request: Request, user: User, visit_id: int, fields: Fields) -> Response:
    patient_id = patient_of_visit_here(request, user, visit_id)
    try:
        outcome = Outcome(fields.text("outcome", 16))
    except ValueError:
        problems = [Problem("outcome", "Choose completed or no-show.")]
        return chart_page(request, user, patient_id, {"problems": problems}, status=400)
    try:
        recorded = record_outcome(
            store(request), knowledge_base(request), visit_id=visit_id, outcome=outcome, actor=user.actor
        )
    except Refused as refused:
        return chart_page(request, user, patient_id, {"problems": refused.problems}, status=409)
    unsafe = f"&unsafe={len(recorded.unsafe)}" if recorded.unsafe else ""
    return RedirectResponse(f"/staff/patients/{patient_id}?recorded={visit_id}{unsafe}#visit-{visit_id}", 303)
