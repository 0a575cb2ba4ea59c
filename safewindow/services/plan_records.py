"""Plans as rows and as a timeline.

The rows are the JSON the CLI prints with --json and the API returns: the templates here; proposals, booked
plans, recalls and move proposals carry their own `as_dict`. The timeline is what the plan pages draw: for
each visit of a proposed or booked plan, the first day the rules allow it given the visits before it (the
patient's history and the plan's earlier visits), its ideal window, the event's deadline and the day chosen.
It asks the advisor as the planner does, and adds the template's own spacing, which only ever narrows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.advice import Severity, advise
from safewindow.domain.history import DEFAULT_AREA, PastVisit, clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_templates import PlanStep, PlanTemplate, Spacing
from safewindow.knowledge.plan_loader import PlanCatalogue
from safewindow.services.advice import parse_day
from safewindow.services.booking import Booked
from safewindow.services.clinic_view import get_clinic, load_patient
from safewindow.services.errors import InputError, NotFound
from safewindow.services.local_time import parse_local_time
from safewindow.services.plans import ProposedPlan
from safewindow.services.records import booked_row
from safewindow.store import models
from safewindow.store.plan_models import Plan
from safewindow.store.unit_of_work import UnitOfWork

SCALE = 100  # the timeline's width in steps (per cent): the pages draw with one CSS class per step
AXIS_MARGIN_DAYS = 3
DEFAULT_HORIZON_DAYS = 90  # as services.plans assumes for a clinic without a booking policy


def template_row(template: PlanTemplate) -> dict[str, Any]:
    return {
        "slug": template.slug,
        "name": template.name,
        "goal": template.goal,
        "needs_event": template.needs_event,
        "steps": [{"treatment": s.treatment, "count": s.count, "optional": s.optional} for s in template.steps],
    }


def template_rows(plans: PlanCatalogue) -> list[dict[str, Any]]:
    return [template_row(t) for t in plans.templates.values()]


def moved_rows(moved: Iterable[Booked]) -> list[dict[str, Any]]:
    """A move and the visits re-planned with it, each as the booking API answers a move."""
    return [booked_row(b) for b in moved]


# --- Checking what people ask for --------------------------------------------------------------------------------


def check_start(session: Session, clinic_id: int, start: date | None, *, now: datetime | None = None) -> None:
    """A plan's first day must fall within the clinic's booking horizon: after it no day is searched at all."""
    if start is None:
        return
    clinic = get_clinic(session, clinic_id)
    horizon = clinic.policy.horizon_days if clinic.policy else DEFAULT_HORIZON_DAYS
    last = clinic_day(now or now_utc(), clinic_zone(clinic.time_zone)) + timedelta(days=horizon)
    if start > last:
        raise InputError("start", f"{start} is after the last day {clinic.name} books ({last})")


def local_time(text: str, zone: ZoneInfo, field: str = "at") -> datetime:
    """`parse_local_time`, for the days safewindow works with only (a time in year 9999 overflows UTC)."""
    try:
        instant = parse_local_time(text, zone, field)
    except OverflowError:
        raise InputError(field, f"{text.strip()[:20]!r} is outside the dates safewindow works with") from None
    parse_day(text.strip()[:10], field)
    return instant


# --- The timeline -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanItem:
    """One visit of a plan, proposed or booked."""

    step: int  # index into the template's steps
    session: int  # 1, 2, 3 ... within the step
    treatment: str
    start: datetime  # an aware instant
    practitioner: str
    fit: str | None = None  # the planner's word; None: worked out from the window
    notes: tuple[str, ...] = ()
    visit_id: int | None = None
    status: str = "proposed"
    area: str = DEFAULT_AREA


@dataclass(frozen=True)
class StepWindow:
    """A visit on the timeline: when it may be, when it ideally is, and when it is."""

    item: PlanItem
    local: datetime  # the start in the clinic's zone
    sessions: int  # how many sessions its step has
    earliest: date  # the first day the rules allow, given the visits before it
    ideal: tuple[date, date] | None
    latest: date | None  # the event's deadline for this treatment
    fit: str  # ideal | allowed
    why: tuple[str, ...]  # the rules and spacing behind the window, in words
    passed: tuple[date, date] | None = None  # an ideal window that closed before the earliest day

    @property
    def day(self) -> date:
        return self.local.date()


@dataclass(frozen=True)
class Timeline:
    slug: str
    name: str
    event: date | None
    today: date
    windows: tuple[StepWindow, ...]
    first: date  # the axis
    last: date

    def at(self, day: date) -> int:
        """Where a day falls on the axis, 0 to SCALE."""
        span = max((self.last - self.first).days, 1)
        return max(0, min(SCALE, round((day - self.first).days * SCALE / span)))

    def bar(self, window: StepWindow) -> dict[str, int | None]:
        """Positions for the drawing: the part too soon, the ideal band, the part too late and the chosen day."""
        ideal_from = ideal_width = late_from = None
        if window.ideal is not None:
            ideal_from = self.at(window.ideal[0])
            ideal_width = max(1, self.at(window.ideal[1] + timedelta(days=1)) - ideal_from)
        if window.latest is not None:
            late_from = self.at(window.latest + timedelta(days=1))
        return {
            "soon": self.at(window.earliest),
            "ideal_from": ideal_from,
            "ideal_width": ideal_width,
            "late_from": late_from,
            "late_width": SCALE - late_from if late_from is not None else None,
            "chosen": self.at(window.day),
        }


def _spacing_from(
    spacing: Spacing | None, before: StepWindow | None, what: str
) -> tuple[date | None, tuple[date, date] | None, str | None]:
    if spacing is None or before is None:
        return None, None, None
    earliest = before.day + timedelta(days=spacing.minimum)
    ideal = None
    words = f"at least {spacing.minimum} days after {what} on {before.day.isoformat()}"
    if spacing.ideal is not None:
        ideal = (before.day + timedelta(days=spacing.ideal[0]), before.day + timedelta(days=spacing.ideal[1]))
        words += f", ideally {spacing.ideal[0]}-{spacing.ideal[1]}"
    source = f" ({spacing.source})" if spacing.source else ""
    return earliest, ideal, f"The plan's spacing: {words}{source}."


def _narrow(a: tuple[date, date] | None, b: tuple[date, date] | None) -> tuple[date, date] | None:
    if a is None:
        return b
    if b is None:
        return a
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start <= end else None


def build_timeline(
    kb: KnowledgeBase,
    *,
    slug: str,
    name: str,
    steps: Sequence[PlanStep],
    items: Sequence[PlanItem],
    history: Sequence[PastVisit],
    factors: Sequence[str],
    today: date,
    zone: ZoneInfo,
    event: date | None = None,
    template: PlanTemplate | None = None,
) -> Timeline:
    """Each visit's window, in date order. `history` holds the patient's visits outside the plan; each visit's
    window counts the plan's visits before it as done, so the advisor's floor is the latest minimum they set.
    A cancelled visit is listed but neither drawn nor counted."""
    ordered = sorted(items, key=lambda i: (i.start, i.step, i.session))
    counted: list[StepWindow] = []
    windows: list[StepWindow] = []
    for item in ordered:
        local = item.start.astimezone(zone)
        day = local.date()
        if item.status == "cancelled":
            windows.append(StepWindow(item, local, 1, day, None, None, "allowed", ()))
            continue
        before = [PastVisit(w.item.treatment, w.day, w.item.area) for w in counted]
        as_of = max([today, *(w.day for w in counted)])
        advice = advise(kb, item.treatment, (*history, *before), factors, today=as_of, on=day, area=item.area)
        earliest = max(advice.earliest or as_of, today)
        ideal = (advice.ideal_start, advice.ideal_end) if advice.ideal_start and advice.ideal_end else None
        why = [r.message for r in advice.reasons if r.severity is Severity.INFO]
        step = steps[item.step] if 0 <= item.step < len(steps) else None
        if step is not None:
            if item.session > 1:
                previous = next(
                    (w for w in reversed(counted) if w.item.step == item.step and w.item.session < item.session),
                    None,
                )
                spaced = _spacing_from(step.between, previous, f"session {item.session - 1}")
            else:
                previous = next((w for w in reversed(counted) if w.item.step < item.step), None)
                spaced = _spacing_from(
                    step.after_previous, previous, previous.item.treatment if previous else "the previous step"
                )
            if spaced[0] is not None:
                earliest = max(earliest, spaced[0])
            ideal = _narrow(ideal, spaced[1]) if spaced[1] is not None else ideal
            if spaced[2]:
                why.append(spaced[2])
        # Only the days of the ideal window that are still open are drawn; one already closed is said.
        passed = None
        if ideal is not None and ideal[1] < earliest:
            ideal, passed = None, ideal
        elif ideal is not None:
            ideal = (max(ideal[0], earliest), ideal[1])
        latest = template.deadline(item.treatment, event)[0] if template is not None and event is not None else None
        fit = item.fit or ("ideal" if ideal is None or ideal[0] <= day <= ideal[1] else "allowed")
        count = step.count if step is not None else 1
        window = StepWindow(item, local, count, earliest, ideal, latest, fit, tuple(why), passed)
        counted.append(window)
        windows.append(window)
    days = [today]
    for w in windows:
        days += [w.day, w.earliest, *(w.ideal or ()), *((w.latest,) if w.latest else ())]
    if event is not None:
        days.append(event)
    first = min(days)
    last = max(max(days) + timedelta(days=AXIS_MARGIN_DAYS), first + timedelta(days=14))
    return Timeline(slug, name, event, today, tuple(windows), first, last)


def proposal_timeline(
    session_factory: sessionmaker[Session], kb: KnowledgeBase, proposal: ProposedPlan, *, now: datetime | None = None
) -> Timeline:
    with UnitOfWork(session_factory) as uow:
        patient = load_patient(uow.session, proposal.patient_id)
    template = proposal.template
    items = [
        PlanItem(
            v.step,
            v.session,
            v.treatment,
            v.slot.start,
            proposal.names.get(v.slot.practitioner_id, ""),
            str(v.fit),
            tuple(v.notes),
            area=patient.area,
        )
        for v in proposal.result.visits
    ]
    return build_timeline(
        kb,
        slug=template.slug,
        name=template.name,
        steps=template.steps,
        items=items,
        history=patient.history,
        factors=patient.factors,
        today=clinic_day(now or now_utc(), proposal.zone),
        zone=proposal.zone,
        event=proposal.event,
        template=template,
    )


@dataclass(frozen=True)
class PlanSummary:
    id: int
    template: str
    name: str
    status: str
    created_at: datetime
    event: date | None


def plans_of(session: Session, plans: PlanCatalogue, patient_id: int) -> list[PlanSummary]:
    """The patient's booked plans, newest first."""
    rows = session.scalars(select(Plan).where(Plan.patient_id == patient_id).order_by(Plan.id.desc()))
    return [
        PlanSummary(
            p.id,
            p.template,
            plans.templates[p.template].name if p.template in plans.templates else p.template,
            p.status,
            p.created_at,
            p.event_date,
        )
        for p in rows
    ]


def booked_timeline(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    plans: PlanCatalogue,
    *,
    plan_id: int,
    patient_id: int,
    now: datetime | None = None,
) -> Timeline:
    """A booked plan's timeline as its visits stand now (moved, done or cancelled). Another patient's plan is
    'not found', like a plan that does not exist."""
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        plan = session.get(Plan, plan_id)
        if plan is None or plan.patient_id != patient_id:
            raise NotFound("plan", f"no plan {plan_id}")
        template = plans.templates.get(plan.template)
        links = sorted(plan.visits, key=lambda v: (v.step, v.session))
        ids = {link.visit_id for link in links}
        zone = clinic_zone(links[0].visit.clinic.time_zone) if links else clinic_zone("America/Vancouver")
        items = [
            PlanItem(
                link.step,
                link.session,
                link.visit.treatment_slug,
                link.visit.start_at,
                link.visit.practitioner.name,
                visit_id=link.visit_id,
                status=str(link.visit.status),
                area=link.visit.area,
            )
            for link in links
        ]
        patient = load_patient(session, patient_id)
        history = _history_without(session, patient_id, ids, patient.history)
        event = plan.event_date
    return build_timeline(
        kb,
        slug=plan.template,
        name=template.name if template else plan.template,
        steps=template.steps if template else (),
        items=items,
        history=history,
        factors=patient.factors,
        today=clinic_day(now or now_utc(), zone),
        zone=zone,
        event=event,
        template=template,
    )


def _history_without(
    session: Session, patient_id: int, plan_visits: set[int], history: Sequence[PastVisit]
) -> tuple[PastVisit, ...]:
    """The patient's history less the plan's own visits (each taken out once, by treatment and day)."""
    rows = session.execute(
        select(models.Visit, models.Clinic.time_zone)
        .join(models.Clinic, models.Clinic.id == models.Visit.clinic_id)
        .where(models.Visit.id.in_(plan_visits), models.Visit.status.in_(models.ACTIVE_STATUSES))
    )
    leave = [PastVisit(v.treatment_slug, clinic_day(v.start_at, clinic_zone(z)), v.area) for v, z in rows]
    kept = list(history)
    for visit in leave:
        if visit in kept:
            kept.remove(visit)
    return tuple(kept)
