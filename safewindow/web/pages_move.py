"""Moving a visit, for staff, with the later visits the move makes unsafe.

A move applies exactly the re-planned times staff saw and confirmed, in one transaction, each checked again
with every other visit of the patient. It needs the session's CSRF token, and staff see and change only their
own clinics' diaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_zone
from safewindow.domain.plan_requests import PlanStatus
from safewindow.services.accounts import User
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused
from safewindow.services.errors import InputError
from safewindow.services.plan_records import local_time
from safewindow.services.propagation import MoveProposal, apply_move, plan_move
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import audit_read, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import StaffUser, optional_int, read_form, render, summary_of
from safewindow.web.pages_staff import staff_clinics

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
MOVE_LABELS = {"day": "New date", "time": "New time", "replan": "Re-planned visits"}


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
