"""The plan pages: a patient's journey proposed, drawn and booked (for staff, and for the patient themselves), the
clinic's recall list with one-click booking, and moving a visit with the later visits the move makes unsafe.

Proposing writes nothing. Booking sends back the times the page showed: the plan is proposed again and booked
only if it is still the same, all of its visits or none; otherwise the page shows the plan as it now stands.
A move likewise applies exactly the re-planned times staff saw and confirmed, in one transaction, each
checked again with every other visit of the patient. Every change needs the session's CSRF token; staff see
and change only their own clinics' diaries, and every view of a patient's plan by staff is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_requests import PlanStatus
from safewindow.domain.plan_templates import PlanTemplate
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.accounts import User
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused, book
from safewindow.services.errors import InputError
from safewindow.services.plan_records import booked_timeline, check_start, local_time, plans_of, proposal_timeline
from safewindow.services.plans import ProposedPlan, book_plan, propose_plan
from safewindow.services.propagation import MoveProposal, apply_move, plan_move
from safewindow.services.recalls import RecallItem, recalls_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import PatientUser, StaffUser, optional_int, read_form, render, summary_of
from safewindow.web.pages_booking import clinics as all_clinics
from safewindow.web.pages_booking import parse_slot
from safewindow.web.pages_staff import staff_clinics

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PLAN_LABELS = {"template": "Plan", "clinic": "Clinic", "start": "First day", "event": "Event date"}
RECALL_LABELS = {"clinic": "Clinic", "on": "As of", "slot": "Time"}
MOVE_LABELS = {"day": "New date", "time": "New time", "replan": "Re-planned visits"}


# --- Proposing and booking a plan -----------------------------------------------------------------------------------


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


def _patient_name(session: Session, patient_id: int) -> str:
    patient = session.get(models.Patient, patient_id)
    if patient is None:
        raise NotFound("patient", f"no patient {patient_id}")
    return patient.name


def _whose(request: Request, user: User, patient_id: int | None) -> Whose:
    with UnitOfWork(store(request)) as uow:
        if patient_id is None:
            assert user.patient_id is not None  # a patient's account always belongs to one
            return Whose(user.patient_id, _patient_name(uow.session, user.patient_id), "/my", staff=False)
        return Whose(patient_id, _patient_name(uow.session, patient_id), f"/staff/patients/{patient_id}", staff=True)


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
    days: dict[str, date | None] = {"start": None, "event": None}
    for name in days:
        text = getattr(ask, name)
        if text:
            try:
                days[name] = parse_day(text, name)
            except InputError as error:
                errors[name] = error.problem
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


# --- Recalls --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallLine:
    item: RecallItem
    slot_value: str | None  # YYYY-MM-DDTHH:MM@practitioner, the first safe time
    slot_local: datetime | None


def _clinic_of(session: Session, user: User, wanted: str) -> tuple[models.Clinic, list[models.Clinic], str | None]:
    """The clinic asked for if this user works there, else their first; with every clinic they may choose."""
    allowed = staff_clinics(session, user)
    if not allowed:
        raise NotFound("clinic", "there are no clinics yet")
    try:
        wanted_id = optional_int(wanted, "clinic")
    except InputError as error:
        return allowed[0], allowed, error.problem
    if wanted_id is None:
        return allowed[0], allowed, None
    found = next((c for c in allowed if c.id == wanted_id), None)
    return (found, allowed, None) if found else (allowed[0], allowed, f"you do not work at clinic {wanted_id}")


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
        chosen, clinics, problem = _clinic_of(session, user, clinic)
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
    day = None
    if on:
        try:
            day = parse_day(on, "on")
        except InputError as error:
            errors["on"] = error.problem
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
        chosen, _, problem = _clinic_of(session, user, fields["clinic"])
        if problem:
            raise HTTPException(403, problem)
        patient_id = optional_int(fields["patient"], "patient")
        if patient_id is None:
            raise InputError("patient", "choose a patient")
        name = _patient_name(session, patient_id)
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


# --- Moving a visit, and the visits it makes unsafe -----------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A later (or earlier) visit the move makes unsafe, and where the planner would put it instead."""

    visit_id: int
    treatment: str
    was: datetime
    reasons: tuple[Problem, ...]
    start: datetime | None  # the proposed new time, local
    practitioner: str
    fit: str | None

    @property
    def value(self) -> str:
        return f"{self.visit_id}@{self.start:%Y-%m-%dT%H:%M}" if self.start else ""


@dataclass(frozen=True)
class MovingVisit:
    id: int
    patient_id: int
    patient_name: str
    treatment: str
    start: datetime  # local
    practitioner: str
    clinic_id: int
    zone_name: str


def _moving_visit(session: Session, user: User, visit_id: int) -> MovingVisit:
    """The visit, if it is at one of this staff member's clinics; 'not found' otherwise."""
    visit = session.get(models.Visit, visit_id)
    if visit is None or visit.clinic_id not in {c.id for c in staff_clinics(session, user)}:
        raise NotFound("visit", f"no visit {visit_id}")
    zone = clinic_zone(visit.clinic.time_zone)
    return MovingVisit(
        visit.id,
        visit.patient_id,
        visit.patient.name,
        visit.treatment_slug,
        visit.start_at.astimezone(zone),
        visit.practitioner.name,
        visit.clinic_id,
        visit.clinic.time_zone,
    )


def _conflicts(session: Session, proposal: MoveProposal) -> list[Conflict]:
    zone = proposal.zone
    replanned = {r.visit_id: r for r in proposal.replanned}
    names: dict[int, str] = {}
    for r in proposal.replanned:
        practitioner = session.get(models.Practitioner, r.practitioner_id)
        names[r.practitioner_id] = practitioner.name if practitioner else str(r.practitioner_id)
    found = []
    for a in proposal.unsafe:
        new = replanned.get(a.visit_id)
        found.append(
            Conflict(
                a.visit_id,
                a.treatment,
                a.start.astimezone(zone),
                a.reasons,
                new.start.astimezone(zone) if new else None,
                names.get(new.practitioner_id, "") if new else "",
                new.fit if new else None,
            )
        )
    return found


def _move_page(
    request: Request,
    user: User,
    visit_id: int,
    day: str,
    time: str,
    *,
    moved: Sequence[int] = (),
    problems: list[Problem] | None = None,
    status: int = 200,
) -> Response:
    errors: dict[str, str] = {}
    with UnitOfWork(store(request), write=True) as uow:
        session = uow.session
        visit = _moving_visit(session, user, visit_id)
        kb = knowledge_for_clinic(session, visit.clinic_id, knowledge_base(request))
        zone = clinic_zone(visit.zone_name)
        moved_now = []
        for moved_id in moved:
            row = session.get(models.Visit, moved_id)
            if row is not None and row.patient_id == visit.patient_id:
                moved_now.append((row.id, row.treatment_slug, row.start_at.astimezone(zone), row.practitioner.name))
        audit_read(session, user, "visit", visit_id)
        uow.commit()
    context: dict[str, Any] = {
        "page": "patients",
        "visit": visit,
        "kb": kb,
        "day": day,
        "time": time,
        "moved_now": moved_now,
    }
    if problems is not None:
        context["problems"] = problems
    if day or time:
        start = None
        try:
            start = local_time(f"{parse_day(day, 'day')}T{time}", zone, "time")
        except InputError as error:
            errors[error.field if error.field in MOVE_LABELS else "day"] = error.problem
        if start is not None:
            try:
                proposal = plan_move(store(request), kb, visit_id=visit_id, start=start)
            except Refused as refused:
                context["problems"] = refused.problems
                status = 409
            else:
                with UnitOfWork(store(request)) as uow:
                    context.update(
                        proposal=proposal,
                        new_start=start.astimezone(zone),
                        conflicts=_conflicts(uow.session, proposal),
                        feasible=proposal.status is not PlanStatus.INFEASIBLE,
                    )
    context.update(errors=errors, summary=summary_of(errors, MOVE_LABELS))
    return render(request, "move_conflicts.html", context, user=user, status=400 if errors else status)


@router.get("/staff/visits/{visit_id}/move")
async def move_form(
    request: Request, user: StaffUser, visit_id: int, day: str = "", time: str = "", moved: str = ""
) -> Response:
    ids = [int(part) for part in moved.split(",") if part.strip().isdigit() and len(part.strip()) <= 9][:50]
    return await run_in_threadpool(_move_page, request, user, visit_id, day.strip()[:20], time.strip()[:10], moved=ids)


def _apply(request: Request, user: User, visit_id: int, day: str, time: str, replan: list[str]) -> Response:
    with UnitOfWork(store(request)) as uow:
        visit = _moving_visit(uow.session, user, visit_id)
        kb = knowledge_for_clinic(uow.session, visit.clinic_id, knowledge_base(request))
    zone = clinic_zone(visit.zone_name)
    try:
        start = local_time(f"{parse_day(day, 'day')}T{time}", zone, "time")
        replanned: dict[int, datetime] = {}
        for entry in replan:
            other, _, at = entry.partition("@")
            other_id = optional_int(other, "replan")
            if other_id is None:
                raise InputError("replan", f"{entry[:40]!r} is not a re-planned visit")
            replanned[other_id] = local_time(at, zone, "replan")
        moved = apply_move(store(request), kb, visit_id=visit_id, start=start, replanned=replanned, actor=user.actor)
    except (Refused, InputError) as failed:
        problems = failed.problems if isinstance(failed, Refused) else [Problem(failed.field, failed.problem)]
        code = 409 if isinstance(failed, Refused) else 400
        return _move_page(request, user, visit_id, day, time, problems=problems, status=code)
    ids = ",".join(str(b.visit.id) for b in moved)
    return RedirectResponse(f"/staff/visits/{visit_id}/move?moved={ids}", 303)


@router.post("/staff/visits/{visit_id}/move")
async def move_confirmed(request: Request, user: StaffUser, visit_id: int) -> Response:
    form = await read_form(request)
    check_csrf(request, user, form.csrf)
    day, time, replan = form.text("day", 20), form.text("time", 10), form.all("replan")[:50]
    return await run_in_threadpool(_apply, request, user, visit_id, day, time, replan)
