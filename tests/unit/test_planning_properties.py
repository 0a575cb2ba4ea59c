"""What must hold for any template, diary and patient: every plan returned takes only offered slots, keeps every
visit's timing safe by the advisor's own word (history and the plan's other visits), keeps the template's
spacing and the event's deadlines, has no two visits clash, and leaves out only optional steps. A plan that
cannot be made says why. Checked here without the planner's own helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.advice import Severity, advise
from safewindow.domain.availability import OfferedTreatment
from safewindow.domain.history import PastVisit
from safewindow.domain.plan_requests import PlanRequest, PlanStatus
from safewindow.domain.plan_templates import EventRule, PlanStep, PlanTemplate, Spacing
from safewindow.domain.planning import plan
from safewindow.domain.rules import Evidence
from safewindow.domain.slots import Slot
from tests.unit.builders import small_kb

KB = small_kb()
ZONE = clinic_zone("America/Vancouver")
TREATMENTS = ["needling", "toxin", "filler", "device", "peel", "series", "monthly", "touchup"]
OFFERED = {slug: OfferedTreatment(slug, 30, buffer_before_minutes=5, buffer_after_minutes=10) for slug in TREATMENTS}
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class World:
    request: PlanRequest
    candidates: list[list[Slot]]


@st.composite
def spacings(draw: st.DrawFn) -> Spacing | None:
    if draw(st.booleans()):
        return None
    low = draw(st.integers(0, 30))
    ideal = draw(st.none() | st.tuples(st.integers(low, low + 10), st.integers(0, 20)))
    return Spacing(low, (ideal[0], ideal[0] + ideal[1]) if ideal else None)


@st.composite
def templates(draw: st.DrawFn) -> PlanTemplate:
    steps = []
    for index in range(draw(st.integers(1, 3))):
        count = draw(st.integers(1, 2))
        steps.append(
            PlanStep(
                draw(st.sampled_from(TREATMENTS)),
                count,
                between=draw(spacings()) if count > 1 else None,
                after_previous=draw(spacings()) if index else None,
                optional=draw(st.booleans()) if index else False,
            )
        )
    rules = tuple(
        EventRule(f"event-{slug}", frozenset({slug}), draw(st.integers(0, 21)), "settles", Evidence.PRACTICE, "t")
        for slug in draw(st.sets(st.sampled_from(TREATMENTS), max_size=3))
    )
    return PlanTemplate("random", "random", "a random journey", False, tuple(steps), rules)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    today = date(2026, 11, 2) + timedelta(days=draw(st.integers(0, 60)))
    days = draw(st.integers(30, 150))
    template = draw(templates())
    closed_weekdays = draw(st.sets(st.integers(0, 6), max_size=3))
    candidates = []
    for _ in template.steps:
        closed = draw(st.sets(st.integers(0, days), max_size=10))
        hours = sorted(draw(st.sets(st.integers(9, 16), min_size=1, max_size=3)))
        who = [draw(st.sampled_from(["p1", "p2"])) for _ in hours]
        room = [draw(st.sampled_from(["r1", "r2", None])) for _ in hours]
        slots = []
        for offset in range(days + 1):
            day = today + timedelta(days=offset)
            if offset in closed or day.weekday() in closed_weekdays:
                continue
            for hour, practitioner, place in zip(hours, who, room, strict=True):
                start = datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)
                slots.append(Slot(start, start + timedelta(minutes=30), practitioner, place, None, None))
        candidates.append(slots)
    history = tuple(
        PastVisit(draw(st.sampled_from(TREATMENTS)), today + timedelta(days=draw(st.integers(-90, 60))))
        for _ in range(draw(st.integers(0, 2)))
    )
    factors = tuple(draw(st.sets(st.sampled_from(["slow", "sensitive", "thinners", "pregnant"]), max_size=1)))
    event = today + timedelta(days=draw(st.integers(20, days + 30))) if draw(st.integers(0, 2)) == 0 else None
    request = PlanRequest(
        template,
        KB,
        today,
        ZONE,
        history=history,
        factors=factors,
        event=event,
        treatments=OFFERED,
        per_day=draw(st.integers(1, 3)),
        time_limit_s=5,
    )
    return World(request, candidates)


def _clash(a: Slot, b: Slot) -> bool:
    if a.start < b.end and b.start < a.end:
        return True  # one patient, two places
    if a.practitioner_id != b.practitioner_id and (a.room_id is None or a.room_id != b.room_id):
        return False
    gap = timedelta(minutes=10 + 5)  # the earlier one's buffer after, the later one's buffer before
    first, second = sorted((a, b), key=lambda s: s.start)
    return second.start < first.end + gap


@PROPERTIES
@given(worlds())
def test_every_plan_is_safe_available_and_keeps_the_template(world: World) -> None:
    request, template = world.request, world.request.template
    result = plan(request, world.candidates)
    event(str(result.status))
    if result.status is PlanStatus.INFEASIBLE:
        assert result.conflicts and result.visits == ()
        return
    visits = result.visits
    for visit in visits:
        assert visit.slot in world.candidates[visit.step]
        assert visit.day >= request.today
        others = request.history + tuple(PastVisit(o.treatment, o.day) for o in visits if o is not visit)
        advice = advise(KB, visit.treatment, others, request.factors, today=request.today, on=visit.day)
        assert not [r for r in advice.reasons if r.severity is Severity.BLOCK], (visit, advice.reasons)
        if request.event is not None:
            limits = [r.days_before for r in template.event_rules if visit.treatment in r.treatments]
            assert visit.day <= request.event - timedelta(days=max(limits) if limits else 1)
    for first in visits:
        for second in visits:
            if first is not second:
                assert not _clash(first.slot, second.slot), (first, second)

    by_step = {
        index: sorted((v for v in visits if v.step == index), key=lambda v: v.session)
        for index in range(len(template.steps))
    }
    for index, step in enumerate(template.steps):
        sessions = by_step[index]
        assert len(sessions) in ((0, step.count) if step.optional else (step.count,))
        assert bool(sessions) or index in result.skipped_steps
        days = [v.day for v in sessions]
        for earlier, later in pairwise(days):
            assert (later - earlier).days >= max(1, step.between.minimum if step.between else 0)
        previous = by_step.get(index - 1)
        if sessions and previous and step.after_previous is not None:
            assert (sessions[0].day - previous[-1].day).days >= step.after_previous.minimum
