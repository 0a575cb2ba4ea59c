"""The plan pages: a patient's journey proposed, drawn and booked, for staff and for the patient themselves.

Proposing writes nothing. Booking sends back the times the page showed: the plan is proposed again and booked
only if it is still the same, all of its visits or none; otherwise the page shows the plan as it now stands.
Every booking needs the session's CSRF token; staff see and change only their own clinics' diaries, and every
view of a patient's plan by staff is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_templates import PlanTemplate
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.accounts import User
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.booking import Refused
from safewindow.services.errors import InputError
from safewindow.services.plan_records import booked_timeline, check_start, plans_of, proposal_timeline
from safewindow.services.plans import ProposedPlan, book_plan, propose_plan
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.asking import day_asked
from safewindow.web.auth import audit_read, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import PatientUser, StaffUser, optional_int, read_form, render, summary_of
from safewindow.web.pages_booking import clinics as all_clinics
from safewindow.web.pages_staff import patient_name, staff_clinics

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PLAN_LABELS = {"template": "Plan", "clinic": "Clinic", "start": "First day", "event": "Event date"}


@dataclass(frozen=True)
class Whose:
    """Whose plan the page is about, and where its pages live."""

    patient_id: int
    patient_name: str
    base: str  # /staff/patients/ID or /my
    staff: bool


@dataclass(frozen=True)
class PlanAsk:
    """The plan form as sent: text, checked by `_checked`."""

    template: str = ""
    clinic: str = ""
    start: str = ""
    event: str = ""


@dataclass(frozen=True)
class Checked:
    template: PlanTemplate
    clinic: models.Clinic
    start: date | None
    event: date | None


def _whose(request: Request, user: User, patient_id: int | None) -> Whose:
    with UnitOfWork(store(request)) as uow:
        if patient_id is None:
            assert user.patient_id is not None  # a patient's account always belongs to one
            return Whose(user.patient_id, patient_name(uow.session, user.patient_id), "/my", staff=False)
        return Whose(patient_id, patient_name(uow.session, patient_id), f"/staff/patients/{patient_id}", staff=True)


def _clinics_for(session: Session, user: User, whose: Whose) -> list[models.Clinic]:
    return staff_clinics(session, user) if whose.staff else all_clinics(session)


def _checked(ask: PlanAsk, clinics: Sequence[models.Clinic]) -> tuple[Checked | None, dict[str, str]]:
    errors: dict[str, str] = {}
    plans = default_plans()
    template = plans.templates.get(ask.template)
    if not ask.template:
        errors["template"] = "choose a plan"
    elif template is None:
        errors["template"] = f"there is no plan {ask.template[:40]!r}"
    clinic = None
    try:
        clinic_id = optional_int(ask.clinic, "clinic")
        clinic = next((c for c in clinics if c.id == clinic_id), None)
        if clinic_id is None:
            errors["clinic"] = "choose a clinic"
        elif clinic is None:
            errors["clinic"] = f"there is no clinic {clinic_id} to choose here"
    except InputError as error:
        errors["clinic"] = error.problem
    days = {name: day_asked(getattr(ask, name), name, errors) for name in ("start", "event")}
    if template is not None and template.needs_event and days["event"] is None and "event" not in errors:
        errors["event"] = f"the plan “{template.name}” needs the date of the event"
    if errors or template is None or clinic is None:
        return None, errors
    return Checked(template, clinic, days["start"], days["event"]), {}


def _names(kb: KnowledgeBase) -> dict[str, str]:
    return {t.slug: t.name for t in kb.treatments.values()}


def _shown(proposal: ProposedPlan) -> list[str]:
    """What the page showed of each visit, sent back with the booking: local start and practitioner."""
    zone = proposal.zone
    return [f"{v.slot.start.astimezone(zone):%Y-%m-%dT%H:%M}@{v.slot.practitioner_id}" for v in proposal.result.visits]


def _propose(
    request: Request, whose: Whose, checked: Checked
) -> tuple[ProposedPlan | None, KnowledgeBase, dict[str, str]]:
    try:
        with UnitOfWork(store(request)) as uow:
            kb = knowledge_for_clinic(uow.session, checked.clinic.id, knowledge_base(request))
            check_start(uow.session, checked.clinic.id, checked.start)
        proposal = propose_plan(
            store(request),
            kb,
            default_plans(),
            template=checked.template.slug,
            patient_id=whose.patient_id,
            clinic_id=checked.clinic.id,
            start=checked.start,
            event=checked.event,
        )
    except InputError as error:
        field = error.field if error.field in PLAN_LABELS else "clinic"
        return None, kb, {field: error.problem}
    return proposal, kb, {}


def _plan_page(
    request: Request,
    user: User,
    whose: Whose,
    ask: PlanAsk,
    *,
    sent: bool,
    shown: Sequence[str] | None = None,
) -> Response:
    """The form, and once sent the proposal drawn as a timeline. With `shown` (a booking), the plan is booked
    if it is still what the page showed."""
    plans = default_plans()
    with UnitOfWork(store(request), write=True) as uow:
        clinics = _clinics_for(uow.session, user, whose)
        booked_plans = plans_of(uow.session, plans, whose.patient_id)
        if whose.staff:
            audit_read(uow.session, user, "patient-plan", whose.patient_id)
        uow.commit()
    if not ask.clinic and clinics:
        ask = PlanAsk(ask.template, str(clinics[0].id), ask.start, ask.event)
    context: dict[str, Any] = {
        "page": "patients" if whose.staff else "my-plan",
        "whose": whose,
        "ask": ask,
        "templates": list(plans.templates.values()),
        "clinics": clinics,
        "booked_plans": booked_plans,
        "treatment_names": _names(knowledge_base(request)),
    }
    errors: dict[str, str] = {}
    status = 200
    if sent:
        checked, errors = _checked(ask, clinics)
        proposal = None
        if checked is not None:
            proposal, kb, errors = _propose(request, whose, checked)
        if proposal is not None and checked is not None:
            context.update(
                proposal=proposal,
                chosen=checked,
                shown_values=_shown(proposal),
                timeline=proposal_timeline(store(request), kb, proposal),
            )
            if shown is not None:
                if list(shown) != _shown(proposal):
                    context["changed"] = True
                    status = 409
                else:
                    try:
                        booked = book_plan(store(request), kb, proposal, actor=user.actor)
                    except Refused as refused:
                        context["problems"] = refused.problems
                        status = 409
                    else:
                        return RedirectResponse(f"{whose.base}/plans/{booked.plan_id}?booked=1", 303)
    context.update(errors=errors, summary=summary_of(errors, PLAN_LABELS))
    return render(request, "plan.html", context, user=user, status=400 if errors else status)


def _ask_from_query(request: Request) -> tuple[PlanAsk, bool]:
    query = request.query_params
    ask = PlanAsk(*(query.get(name, "").strip()[:64] for name in ("template", "clinic", "start", "event")))
    return ask, "template" in query


async def _ask_from_form(request: Request, user: User) -> tuple[PlanAsk, list[str]]:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    ask = PlanAsk(*(fields.text(name, 64) for name in ("template", "clinic", "start", "event")))
    return ask, fields.all("shown")


@router.get("/staff/patients/{patient_id}/plan")
async def staff_plan(request: Request, user: StaffUser, patient_id: int) -> Response:
    ask, sent = _ask_from_query(request)
    whose = await run_in_threadpool(_whose, request, user, patient_id)
    return await run_in_threadpool(_plan_page, request, user, whose, ask, sent=sent)


@router.post("/staff/patients/{patient_id}/plan")
async def staff_book_plan(request: Request, user: StaffUser, patient_id: int) -> Response:
    ask, shown = await _ask_from_form(request, user)
    whose = await run_in_threadpool(_whose, request, user, patient_id)
    return await run_in_threadpool(_plan_page, request, user, whose, ask, sent=True, shown=shown)


@router.get("/my/plan")
async def my_plan(request: Request, user: PatientUser) -> Response:
    ask, sent = _ask_from_query(request)
    whose = await run_in_threadpool(_whose, request, user, None)
    return await run_in_threadpool(_plan_page, request, user, whose, ask, sent=sent)


@router.post("/my/plan")
async def my_book_plan(request: Request, user: PatientUser) -> Response:
    ask, shown = await _ask_from_form(request, user)
    whose = await run_in_threadpool(_whose, request, user, None)
    return await run_in_threadpool(_plan_page, request, user, whose, ask, sent=True, shown=shown)


def _booked_page(request: Request, user: User, whose: Whose, plan_id: int, booked: bool) -> Response:
    with UnitOfWork(store(request), write=True) as uow:
        if whose.staff:
            audit_read(uow.session, user, "patient-plan", whose.patient_id)
        uow.commit()
    try:
        timeline = booked_timeline(
            store(request), knowledge_base(request), default_plans(), plan_id=plan_id, patient_id=whose.patient_id
        )
    except InputError as error:
        raise NotFound("plan", error.problem) from None
    context = {
        "page": "patients" if whose.staff else "my-plan",
        "whose": whose,
        "plan_id": plan_id,
        "timeline": timeline,
        "booked": booked,
        "treatment_names": _names(knowledge_base(request)),
    }
    return render(request, "plan_booked.html", context, user=user)


@router.get("/staff/patients/{patient_id}/plans/{plan_id}")
async def staff_booked_plan(
    request: Request, user: StaffUser, patient_id: int, plan_id: int, booked: int = 0
) -> Response:
    whose = await run_in_threadpool(_whose, request, user, patient_id)
    return await run_in_threadpool(_booked_page, request, user, whose, plan_id, bool(booked))


@router.get("/my/plans/{plan_id}")
async def my_booked_plan(request: Request, user: PatientUser, plan_id: int, booked: int = 0) -> Response:
    whose = await run_in_threadpool(_whose, request, user, None)
    return await run_in_threadpool(_booked_page, request, user, whose, plan_id, bool(booked))
