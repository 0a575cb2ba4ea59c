"""A visit's aftercare page, for the patient and staff: the warning signs first ("call the clinic now"; after
filler, the signs of a blocked blood vessel mean calling the clinic or 911 at once), then day by day what to
expect, do and avoid, dated on the clinic's calendar, with today marked.

It reads the patient's chart (which treatment, when), so it follows the chart's rules: a patient sees only
their own visits (another's is 404), staff see every visit, and each view is written to the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from safewindow.clock import clinic_zone
from safewindow.domain.aftercare import CALL_NOW, EMERGENCY_WORDS, aftercare_timeline
from safewindow.services.accounts import User
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import STAFF, audit_read, may_see_patient, store
from safewindow.web.dependencies import TodayDep, knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import page_user, render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
VisitReader = Annotated[User, Depends(page_user(Role.PATIENT, *STAFF))]
DID_NOT_HAPPEN = (models.VisitStatus.CANCELLED, models.VisitStatus.NO_SHOW)


@router.get("/visits/{visit_id}/aftercare")
def aftercare_page(request: Request, visit_id: int, user: VisitReader, today: TodayDep) -> Response:
    kb = knowledge_base(request)
    with UnitOfWork(store(request), write=True) as uow:
        visit = uow.session.get(models.Visit, visit_id)
        if visit is None:
            raise NotFound("visit", f"no visit {visit_id}")
        may_see_patient(user, visit.patient_id)
        audit_read(uow.session, user, "visit", visit.id)
        zone = clinic_zone(visit.clinic.time_zone)
        treatment = kb.treatments.get(visit.treatment_slug)
        timeline = aftercare_timeline(treatment, visit.start_at, zone, visit.end_at) if treatment else None
        context = {
            "page": "my-visits" if user.role is Role.PATIENT else "patients",
            "visit_id": visit.id,
            "name": treatment.name if treatment else visit.treatment_slug,
            "start": visit.start_at.astimezone(zone),
            "clinic": visit.clinic.name,
            "address": visit.clinic.address,
            "practitioner": visit.practitioner.name,
            "did_not_happen": visit.status in DID_NOT_HAPPEN,
            "status": str(visit.status),
            "timeline": timeline,
            "call_now": CALL_NOW,
            "emergency": EMERGENCY_WORDS,
            "today": today,
            "back": "/my/visits" if user.role is Role.PATIENT else "/staff/patients",
        }
        uow.commit()
    return render(request, "aftercare.html", context, user=user)
