"""The clinic's recall list, for staff, with one-click booking of each recall's first safe time.

Booking needs the session's CSRF token, and staff see and change only their own clinics' diaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.accounts import User
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused, book
from safewindow.services.errors import InputError
from safewindow.services.recalls import RecallItem, recalls_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.asking import day_asked
from safewindow.web.auth import audit_read, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.pages_account import StaffUser, optional_int, read_form, render, summary_of
from safewindow.web.pages_booking import parse_slot
from safewindow.web.pages_staff import chosen_clinic, patient_name

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
RECALL_LABELS = {"clinic": "Clinic", "on": "As of", "slot": "Time"}


@dataclass(frozen=True)
class RecallLine:
    item: RecallItem
    slot_value: str | None  # YYYY-MM-DDTHH:MM@practitioner, the first safe time
    slot_local: datetime | None


def _recalls_page(
    request: Request,
    user: User,
    clinic: str,
    on: str,
    *,
    booked: int | None = None,
    problems: list[Problem] | None = None,
    refused_name: str = "",
    status: int = 200,
) -> Response:
    errors: dict[str, str] = {}
    with UnitOfWork(store(request), write=True) as uow:
        session = uow.session
        chosen, clinics, problem = chosen_clinic(session, user, clinic)
        if problem:
            errors["clinic"] = problem
        zone = clinic_zone(chosen.time_zone)
        kb = knowledge_for_clinic(session, chosen.id, knowledge_base(request))
        booked_visit = None
        if booked is not None:
            visit = session.get(models.Visit, booked)
            if visit is not None and visit.clinic_id == chosen.id:
                booked_visit = {
                    "id": visit.id,
                    "patient": visit.patient.name,
                    "treatment": visit.treatment_slug,
                    "start": visit.start_at.astimezone(zone),
                    "practitioner": visit.practitioner.name,
                }
        audit_read(session, user, "clinic-recalls", chosen.id)
        uow.commit()
    day = day_asked(on, "on", errors)
    items = recalls_for(store(request), kb, default_plans().recalls, clinic_id=chosen.id, on=day)
    lines = []
    for item in items:
        slot = item.first_slot
        local = slot.slot.start.astimezone(slot.zone) if slot else None
        value = f"{local:%Y-%m-%dT%H:%M}@{slot.slot.practitioner_id}" if slot and local else None
        lines.append(RecallLine(item, value, local))
    context = {
        "page": "recalls",
        "clinic": chosen,
        "clinics": clinics,
        "on": on,
        "as_of": day or clinic_today(zone),
        "lines": lines,
        "kb": kb,
        "booked_visit": booked_visit,
        "refused_name": refused_name,
        "errors": errors,
        "summary": summary_of(errors, RECALL_LABELS),
    }
    if problems is not None:
        context["problems"] = problems
    return render(request, "recalls.html", context, user=user, status=400 if errors and status == 200 else status)


@router.get("/staff/recalls")
async def recalls(request: Request, user: StaffUser, clinic: str = "", on: str = "", booked: int = 0) -> Response:
    page = await run_in_threadpool(
        _recalls_page, request, user, clinic.strip()[:12], on.strip()[:20], booked=booked or None
    )
    return page


def _book_recall(request: Request, user: User, fields: dict[str, str]) -> Response:
    kb_base = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        session = uow.session
        chosen, _, problem = chosen_clinic(session, user, fields["clinic"])
        if problem:
            raise HTTPException(403, problem)
        patient_id = optional_int(fields["patient"], "patient")
        if patient_id is None:
            raise InputError("patient", "choose a patient")
        name = patient_name(session, patient_id)
        if fields["treatment"] not in kb_base.treatments:
            raise InputError("treatment", f"we do not know the treatment {fields['treatment'][:40]!r}")
        kb = knowledge_for_clinic(session, chosen.id, kb_base)
        zone = clinic_zone(chosen.time_zone)
    try:
        parse_day(fields["slot"][:10], "slot")  # within the days safewindow works with, before any arithmetic
        start, practitioner_id = parse_slot(fields["slot"], zone)
        booked = book(
            store(request),
            kb,
            patient_id=patient_id,
            treatment=fields["treatment"],
            clinic_id=chosen.id,
            start=start,
            practitioner_id=practitioner_id,
            actor=user.actor,
        )
    except Refused as refused:
        return _recalls_page(
            request, user, str(chosen.id), fields["on"], problems=refused.problems, refused_name=name, status=409
        )
    except InputError as error:
        problems = [Problem(error.field, error.problem)]
        return _recalls_page(
            request, user, str(chosen.id), fields["on"], problems=problems, refused_name=name, status=400
        )
    on = f"&on={fields['on']}" if fields["on"] else ""
    return RedirectResponse(f"/staff/recalls?clinic={chosen.id}{on}&booked={booked.visit.id}", 303)


@router.post("/staff/recalls/book")
async def book_recall(request: Request, user: StaffUser) -> Response:
    form = await read_form(request)
    check_csrf(request, user, form.csrf)
    fields = {
        "patient": form.text("patient", 12),
        "treatment": form.text("treatment", 64),
        "clinic": form.text("clinic", 12),
        "slot": form.text("slot", 40),
        "on": form.text("on", 10),
    }
    return await run_in_threadpool(_book_recall, request, user, fields)
