"""The problem a plan is solved from: the visits, their options in scope, the relations between them, the
deadlines, and the least any option can cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safewindow.domain.advice import Severity, advise
from safewindow.domain.plan_options import SlotOption, StepDays
from safewindow.domain.plan_relations import (
    EitherOrder,
    FixedOrder,
    IdealWindow,
    VisitToPlan,
    factor_extension,
    visit_relations,
)
from safewindow.domain.plan_requests import CandidateSource, Conflict, PlanRequest
from safewindow.domain.slots import Slot


@dataclass
class PlanProblem:
    """Everything the model is built from: the visits, their options in scope, the relations, the deadlines."""

    request: PlanRequest
    visits: list[VisitToPlan]
    steps: list[StepDays]
    deadlines: dict[int, tuple[int, str, str]]  # visit -> last ordinal, rule, why
    links: list[FixedOrder]
    either: list[EitherOrder]
    windows: list[IdealWindow]
    base: int  # the ordinal one day before the first candidate day: offsets start at 1, 0 means absent
    blocked: dict[str, list[Conflict]]  # treatments the patient may not have at all, and why
    options: list[list[SlotOption]] = field(default_factory=list)  # per visit, what the model chooses from
    earliest: dict[int, int] = field(default_factory=dict)  # required visit -> its earliest day (the chain's)
    tails: dict[int, int] = field(default_factory=dict)  # visit -> fewest days from it to the last visit
    preceded: set[int] = field(default_factory=set)  # visits some planned visit comes before, in a fixed order

    def __post_init__(self) -> None:
        self.preceded = {link.later for link in self.links}

    def offset(self, ordinal: int) -> int:
        return ordinal - self.base

    def scope(self, last: int | None = None, bound: int | None = None, deadlines: bool = True) -> bool:
        """Choose each visit's options: up to `last`, within the deadlines, and only those whose own share of
        the cost (finish day, waiting, preferences, history window, distance from a target) is within `bound`,
        a plan's known cost, so no better plan can use the others. Whether any option came into scope."""
        before = self.options
        self.options = []
        for visit in self.visits:
            options = self.steps[visit.step].until(last)
            deadline = self.deadlines.get(visit.index)
            if deadline is not None and deadlines:
                options = [o for o in options if o.day <= deadline[0]]
            if bound is not None:
                options = [o for o in options if self.least_cost(visit, o) <= bound]
            self.options.append(options)
        return any(
            not {id(o) for o in new} <= {id(o) for o in old}
            for new, old in zip(self.options, before or [[] for _ in self.visits], strict=True)
        )

    def history_outside(self, visit: int, option: SlotOption) -> int:
        """Days outside the ideal window the history sets, for a visit nothing in the plan comes before: for the
        others a planned visit is the latest before them, and its window is the one that counts."""
        return 0 if visit in self.preceded else option.outside

    def least_cost(self, visit: VisitToPlan, option: SlotOption) -> int:
        """Fewest points any plan with `option` for `visit` scores: the last visit comes no sooner than this one
        plus the minimums after it, and every other required visit no sooner than its earliest day."""
        weights = self.request.weights
        offset = self.offset(option.day)
        others = sum(self.offset(day) for index, day in self.earliest.items() if index != visit.index)
        finish = max(offset + self.tails.get(visit.index, 0), *(self.offset(d) for d in self.earliest.values()))
        cost = weights.finish_day * finish + weights.visit_day * (offset + others) + option.cost
        cost += weights.outside_ideal_day * self.history_outside(visit.index, option)
        target = self.request.targets.get(visit.step)
        if target is not None:
            cost += weights.away_from_target_day * abs(offset - self.offset(target.toordinal()))
        return cost


def prepare_problem(request: PlanRequest, candidates: Sequence[Sequence[Slot]] | CandidateSource) -> PlanProblem:
    template = request.template
    source: CandidateSource = candidates if callable(candidates) else (lambda index, _step: candidates[index])
    visits: list[VisitToPlan] = []
    steps: list[StepDays] = []
    blocked: dict[str, list[Conflict]] = {}
    for index, step in enumerate(template.steps):
        general = advise(
            request.knowledge, step.treatment, request.history, request.factors, today=request.today, area=request.area
        )
        if not general.allowed:
            reasons = [r for r in general.reasons if r.severity is Severity.BLOCK]
            blocked[step.treatment] = [Conflict(r.rule, r.message, step.treatment) for r in reasons]
        steps.append(StepDays(request, step, source(index, step) if general.allowed else ()))
        for session in range(1, step.count + 1):
            visits.append(VisitToPlan(len(visits), index, session, step.treatment, step.optional))

    deadlines: dict[int, tuple[int, str, str]] = {}
    if request.event is not None:
        for visit in visits:
            last, rule, why = template.deadline(visit.treatment, request.event)
            deadlines[visit.index] = (last.toordinal(), rule, why)

    links, either, windows = visit_relations(request, visits, factor_extension(request))
    first = min((days.days[0] for days in steps if days.days), default=request.today.toordinal())
    problem = PlanProblem(request, visits, steps, deadlines, links, either, windows, first - 1, blocked)
    for index, days in enumerate(steps):
        # A step whose visits never share a day with another step's needs only its best slot per day.
        mine = [v.index for v in visits if v.step == index]
        others = [v.index for v in visits if v.step != index]
        if not any(may_share_day(problem, min(u, v), max(u, v)) for u in mine for v in others):
            days.keep = 1
    return problem


def may_share_day(problem: PlanProblem, u: int, v: int) -> bool:
    links = [link for link in problem.links if (link.earlier, link.later) == (u, v)]
    if links:
        return all(link.days == 0 and link.minimum is None for link in links)
    pair = next((p for p in problem.either if (p.first, p.second) == (u, v)), None)
    if pair is None:
        return True
    return any(not m.rules or (m.in_days and m.gap()[0] == 0) for m in (pair.forward, pair.backward))
