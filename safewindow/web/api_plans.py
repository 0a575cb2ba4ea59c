"""Treatment plans over the API: the templates, proposing and booking a plan, the clinic's recalls, and moving a
visit together with the later visits the move would make unsafe.

Each answer is the JSON the CLI prints with --json (`ProposedPlan.as_dict()`, `BookedPlan.as_dict()`,
`RecallItem.as_dict()`, `MoveProposal.as_dict()`). Staff propose and book for any patient, a patient for
themselves (another patient is 404). Recalls and moves are for staff; a clinic's recalls only for staff who
work there (403). A booking or a move that cannot be made is 409 with every reason, in the shape of booking
refusals, and changes nothing: a plan's visits are booked all together or not at all, and a move with the
visits re-planned for it likewise.

Timing advice is decision support: a qualified practitioner makes the final decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from safewindow.clock import clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_requests import PlanStatus
from safewindow.domain.rules import Kind
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.accounts import User
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import InputError
from safewindow.services.plan_records import check_start, local_time, moved_rows, template_rows
from safewindow.services.plans import book_plan, propose_plan
from safewindow.services.propagation import MoveProposal, apply_move, plan_move
from safewindow.services.recalls import RecallStatus, recalls_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_clinics import SlotRow
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import ALLOWED, LARGEST_ID, NOT_FOUND, WITH_BODY, Id, changer, found_by_path, text
from safewindow.web.api_visits import (
    ANYONE_SIGNED_IN,
    REFUSED,
    BookedOut,
    IdempotencyKey,
    LocalTime,
    answer,
    clinics_of,
    refusal_body,
    visible_visit,
)
from safewindow.web.auth import STAFF, StaffDep, audit_read, may_see_patient, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["plans"], responses={422: {"model": Problems, "description": "Bad input"}})
Changer = Annotated[User, Depends(changer(*ANYONE_SIGNED_IN))]
StaffChanger = Annotated[User, Depends(changer(*STAFF))]
Day = Annotated[str, text(10, 1), Field(description="YYYY-MM-DD, the clinic's calendar day.")]


# --- Shapes ---------------------------------------------------------------------------------------------------------


class PlanStepRow(Shape):
    treatment: str
    count: int
    optional: bool


class PlanTemplateRow(Shape):
    slug: str
    name: str
    goal: str
    needs_event: bool = Field(description="The plan needs the event's date (`event`).")
    steps: list[PlanStepRow]


class PlannedVisitRow(Shape):
    treatment: str
    step: int = Field(description="The template's step, from 1.")
    session: int = Field(description="The session within the step, from 1.")
    start: datetime = Field(description="The clinic's local time, with its UTC offset.")
    end: datetime
    practitioner: int
    practitioner_name: str
    room: int | None
    fit: str = Field(description="ideal: inside every ideal window that applies; allowed: `notes` say which not.")
    notes: list[str]


class BookedVisitRow(PlannedVisitRow):
    id: int = Field(description="The booked visit's id.")


class RecallDue(Shape):
    treatment: str
    due_start: str
    due_end: str


class ConflictRow(Shape):
    rule: str
    treatment: str | None
    day: str | None
    message: str


class ProposalOut(Shape):
    template: str
    patient: int
    clinic: int
    event: str | None
    status: PlanStatus = Field(description="optimal: proven best; feasible: safe, not proven best; infeasible.")
    visits: list[PlannedVisitRow]
    skipped: list[str] = Field(description="Optional steps left out because they could not fit safely.")
    recall: RecallDue | None
    conflicts: list[ConflictRow] = Field(description="Without a plan: the rules that stand in the way.")
    explanation: str


class BookedPlanOut(ProposalOut):
    plan_id: int
    visits: list[BookedVisitRow]  # type: ignore[assignment]


class PlanIn(Shape):
    template: Annotated[str, text(64, 1), Field(examples=["microneedling-series-then-botox"])]
    clinic: Annotated[int, Field(ge=1, le=LARGEST_ID)]
    start: Day | None = Field(default=None, description="No visit before this day (default: today).")
    event: Day | None = Field(default=None, description="The event's date, for plans that need one.")
    book: bool = Field(default=False, description="Book every visit, all or none (201); else only propose (200).")


class RecallRow(Shape):
    patient: int
    patient_name: str
    treatment: str
    last_visit: str
    due_start: str
    due_end: str
    status: RecallStatus
    first_slot: SlotRow | None = Field(description="The first free time the patient's timing rules allow.")


class ProblemRow(Shape):
    code: str
    message: str
    kind: Kind | None
    evidence: str | None
    source: str | None


class UnsafeRow(Shape):
    visit: int
    treatment: str
    start: datetime
    reasons: list[ProblemRow]


class ReplannedRow(Shape):
    visit: int
    treatment: str
    was: datetime
    start: datetime = Field(description="The proposed new time, the clinic's local time.")
    practitioner: int
    fit: str


class MoveProposalOut(Shape):
    visit: int
    start: datetime
    status: PlanStatus = Field(description="infeasible: the move cannot be made safe; see `problems`.")
    unsafe: list[UnsafeRow] = Field(description="Booked visits the move alone would make unsafe.")
    replanned: list[ReplannedRow] = Field(description="New times for them, as near their old ones as is safe.")
    problems: list[ProblemRow]
    explanation: str


class MovePlanIn(Shape):
    at: LocalTime


class ReplannedIn(Shape):
    visit: Annotated[int, Field(ge=1, le=LARGEST_ID)]
    at: LocalTime


class MoveIn(Shape):
    at: LocalTime
    confirm_replan: bool = Field(
        default=False, description="Move the visits the move makes unsafe too; without it such a move is 409."
    )
    replanned: Annotated[list[ReplannedIn], Field(max_length=50)] | None = Field(
        default=None,
        description="The re-planned times the caller confirmed (from move-plan); default: re-planned afresh.",
    )


class MovedOut(Shape):
    visit: int
    moved: list[BookedOut] = Field(description="The moved visit first, then each re-planned one.")


# --- Routes ---------------------------------------------------------------------------------------------------------


@router.get("/plans", response_model=list[PlanTemplateRow], summary="The plan templates")
def plan_templates() -> JSONResponse:
    return JSONResponse(template_rows(default_plans()))


def _may_see(user: User, patient_id: int) -> None:
    """`may_see_patient`, answered as every other 404 of the API: another patient's record reads exactly like
    one that does not exist."""
    try:
        may_see_patient(user, patient_id)
    except HTTPException:
        raise NotFound("patient", f"no patient {patient_id}") from None


def _clinic_kb(session: Session, request: Request, clinic_id: int) -> KnowledgeBase:
    return knowledge_for_clinic(session, clinic_id, knowledge_base(request))


@router.post(
    "/patients/{patient_id}/plans",
    response_model=ProposalOut,
    responses={
        201: {"model": BookedPlanOut, "description": "Booked: every visit of the plan"},
        **WITH_BODY,
        **ALLOWED,
        **NOT_FOUND,
        **REFUSED,
    },
    summary="Propose the best safe plan for a patient at a clinic, and book it with `book`",
)
def plan_for(
    request: Request, patient_id: Id, body: PlanIn, user: Changer, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Every visit of the template in free times the patient's timing rules allow, placed together; or why no
    such plan exists (`status` infeasible, with the rules in `conflicts`). With `book`, all of them are booked
    in one transaction or none (409 with every reason). A qualified practitioner makes the final decision."""
    _may_see(user, patient_id)
    sessions = store(request)
    with UnitOfWork(sessions, write=True) as uow:
        if uow.session.get(models.Patient, patient_id) is None:
            raise NotFound("patient", f"no patient {patient_id}")
        get_clinic(uow.session, body.clinic)  # a clinic named in the body: 422
        start = parse_day(body.start, "start") if body.start else None
        event = parse_day(body.event, "event") if body.event else None
        check_start(uow.session, body.clinic, start)
        kb = _clinic_kb(uow.session, request, body.clinic)
        audit_read(uow.session, user, "patient-plan", patient_id)
        uow.commit()

    def change() -> tuple[int, dict[str, Any]]:
        proposal = propose_plan(
            sessions,
            kb,
            default_plans(),
            template=body.template.strip(),
            patient_id=patient_id,
            clinic_id=body.clinic,
            start=start,
            event=event,
        )
        if not body.book:
            return 200, proposal.as_dict()
        return 201, book_plan(sessions, kb, proposal, actor=user.actor).as_dict()

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.get(
    "/clinics/{clinic_id}/recalls",
    response_model=list[RecallRow],
    responses={**ALLOWED, **NOT_FOUND},
    summary="Patients due, overdue or soon due a treatment again, with the first safe time (staff)",
)
def clinic_recalls(
    request: Request,
    clinic_id: Id,
    user: StaffDep,
    on: Annotated[str | None, Query(max_length=10, description="As of this day, YYYY-MM-DD (default: today).")] = None,
) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        session = uow.session
        get_clinic(session, clinic_id)
        if user.clinic_id is not None and clinic_id not in clinics_of(session, user):
            raise HTTPException(403, detail=[{"field": "clinic", "problem": f"you do not work at clinic {clinic_id}"}])
        kb = _clinic_kb(session, request, clinic_id)
        audit_read(session, user, "clinic-recalls", clinic_id)
        uow.commit()
    day = parse_day(on, "on") if on else None
    items = recalls_for(store(request), kb, default_plans().recalls, clinic_id=clinic_id, on=day)
    return JSONResponse([item.as_dict() for item in items])


def _visit_for_move(request: Request, user: User, visit_id: int) -> tuple[int, str]:
    """The visit's clinic and zone, if the caller may see it (404 otherwise)."""
    with UnitOfWork(store(request)) as uow:
        visit = visible_visit(uow.session, user, visit_id)
        return visit.clinic_id, visit.clinic.time_zone


def _proposal(request: Request, kb: KnowledgeBase, visit_id: int, start: datetime) -> MoveProposal:
    with found_by_path():
        return plan_move(store(request), kb, visit_id=visit_id, start=start)


@router.post(
    "/visits/{visit_id}/move-plan",
    response_model=MoveProposalOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Which later visits moving this one makes unsafe, and new times for them (staff; changes nothing)",
)
def move_plan(request: Request, visit_id: Id, body: MovePlanIn, user: StaffChanger) -> JSONResponse:
    clinic_id, zone = _visit_for_move(request, user, visit_id)
    with UnitOfWork(store(request)) as uow:
        kb = _clinic_kb(uow.session, request, clinic_id)
    start = local_time(body.at, clinic_zone(zone))
    try:
        proposal = _proposal(request, kb, visit_id, start)
    except Refused as refused:
        return JSONResponse(refusal_body(refused.problems), status_code=409)
    return JSONResponse(proposal.as_dict())


@router.post(
    "/visits/{visit_id}/move",
    response_model=MovedOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Move a visit and the visits re-planned for it, all in one transaction (staff)",
)
def move(
    request: Request, visit_id: Id, body: MoveIn, user: StaffChanger, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """The move and each re-planned visit are checked again as they are made, every other visit of the patient
    with them: all are moved, or none (409 with every reason). Without `confirm_replan`, a move that would
    make another visit unsafe is refused and lists those visits."""
    clinic_id, zone_name = _visit_for_move(request, user, visit_id)
    start = local_time(body.at, clinic_zone(zone_name))
    confirmed: dict[int, datetime] | None = None
    with UnitOfWork(store(request)) as uow:
        kb = _clinic_kb(uow.session, request, clinic_id)
        if body.replanned is not None:
            confirmed = {}
            for row in body.replanned:
                other = uow.session.get(models.Visit, row.visit)
                if other is None:
                    raise InputError("replanned", f"no visit {row.visit}")
                confirmed[row.visit] = local_time(row.at, clinic_zone(other.clinic.time_zone), "replanned")

    def change() -> tuple[int, dict[str, Any]]:
        replanned = confirmed
        if replanned is None:
            proposal = _proposal(request, kb, visit_id, start)
            if proposal.status is PlanStatus.INFEASIBLE:
                raise Refused(list(proposal.problems) or [Problem("move-unsafe", proposal.explanation)])
            replanned = {r.visit_id: r.start for r in proposal.replanned}
            if replanned and not body.confirm_replan:
                raise Refused(
                    [
                        Problem(
                            "dependent-visit",
                            f"Visit {a.visit_id} ({a.treatment}) would be unsafe after this move; "
                            "send confirm_replan to move it too.",
                        )
                        for a in proposal.unsafe
                    ]
                )
        elif replanned and not body.confirm_replan:
            raise Refused([Problem("confirm_replan", "Moving the re-planned visits too needs confirm_replan.")])
        with found_by_path():
            moved = apply_move(
                store(request), kb, visit_id=visit_id, start=start, replanned=replanned, actor=user.actor
            )
        return 200, {"visit": visit_id, "moved": moved_rows(moved)}

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)
