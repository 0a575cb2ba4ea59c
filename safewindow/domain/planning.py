"""Treatment plans: every visit of a template placed at once in free, safe slots, by one CP-SAT model per patient.

A template (knowledge/data/plans.yaml) lists steps: a treatment, how many sessions, spacing between its own
sessions and from the previous step (on top of the catalogue's rules, never instead of them), whether it is
optional; event rules say how long before an event a treatment must be done. CP-SAT is a solver, not I/O, so
it lives here; the candidates come from the caller (the rule-aware slot finder, or hand-made slots in tests).

Hard: each visit takes one candidate slot on a day the advisor allows given the patient's history; between any
two of the plan's visits the minimum of every catalogue rule (lengthened by personal factors as the advisor
lengthens it) and of the template's spacing; event deadlines; visits on one day never clash (patient,
practitioner, room, device, buffers). Soft, in named weights (`PlanWeights`): finish soon, stay inside ideal
windows, the patient's preferred weekdays, times and practitioner, and fewer trips (compatible treatments on
one day).

Each day keeps its best few slots (by the patient's preferences, an hour apart where possible): the day is what
the rules see, the slot only matters to taste and to same-day clashes. The model is solved first over the days
near the earliest the chain of minimums allows; that plan's cost then rules out every option that alone would
cost more, so a long horizon costs little more than a short one, and the optimum stays proven.

A plan is checked once more, visit by visit, with the advisor against the history and the other visits before
it is returned. Without a plan, the explanation is the chain of minimums from a first free day that overruns
a deadline or the last day searched, or else the smallest set of rules the solver finds in conflict."""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from ortools.sat.python import cp_model

from safewindow.domain.advice import Severity, advise
from safewindow.domain.history import PastVisit
from safewindow.domain.plan_conflicts import chain_of_minimums, days_to_finish, smallest_conflict
from safewindow.domain.plan_model import BuiltModel, ModelBuilder, new_solver
from safewindow.domain.plan_options import SlotOption
from safewindow.domain.plan_problem import PlanProblem, prepare_problem
from safewindow.domain.plan_requests import CandidateSource, Conflict, PlannedVisit, PlanRequest, PlanResult, PlanStatus
from safewindow.domain.plan_templates import PlanTemplate
from safewindow.domain.slots import Fit, Slot

SLACK_DAYS = 14  # the first solve looks this far past the earliest day the chain of minimums allows


@dataclass
class _Solved:
    built: BuiltModel
    solver: cp_model.CpSolver
    optimal: bool
    cost: int
    chosen: dict[int, SlotOption]  # visit -> its option; optional visits left out are missing


def _solve(problem: PlanProblem, hint: _Solved | None = None) -> _Solved | None:
    built = ModelBuilder(problem, explaining=False).build()
    if hint is not None:
        for visit, options in enumerate(problem.options):
            for option, literal in zip(options, built.choose[visit], strict=True):
                built.model.add_hint(literal, hint.chosen.get(visit) is option)
    solver = new_solver(problem.request)
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = {
        visit: option
        for visit, options in enumerate(problem.options)
        for option, literal in zip(options, built.choose[visit], strict=True)
        if solver.boolean_value(literal)
    }
    return _Solved(built, solver, status == cp_model.OPTIMAL, round(solver.objective_value), chosen)


def plan(request: PlanRequest, candidates: Sequence[Sequence[Slot]] | CandidateSource) -> PlanResult:
    """The best plan the candidate slots allow, or why there is none. `candidates` gives each step's slots (by
    step index), as a list per step or a function of the step."""
    started = clock.perf_counter()
    problem = prepare_problem(request, candidates)
    template = request.template
    # A factor or a limit that rules out a step's treatment: a required step sinks the plan at once; an
    # optional one has no options, so it is left out.
    blocked = [c for step in template.steps if not step.optional for c in problem.blocked.get(step.treatment, [])]
    if blocked:
        return _infeasible(request, blocked, started)
    # The chain of minimums is a relaxation: where it overruns a deadline or the days searched, nothing fits.
    conflicts, problem.earliest = chain_of_minimums(problem)
    if conflicts:
        return _infeasible(request, conflicts, started)
    problem.tails = days_to_finish(problem)
    earliest = problem.earliest

    # First the days near the earliest the minimums allow; that plan's cost then rules out every option that
    # alone would cost more, and only when something is left beyond those days is the model solved again.
    problem.scope(last=max(earliest.values(), default=problem.base) + SLACK_DAYS)
    solved = _solve(problem)
    if solved is None:
        problem.scope()
        solved = _solve(problem)
    elif problem.scope(bound=solved.cost):
        better = _solve(problem, hint=solved)
        solved = better if better is not None and better.cost <= solved.cost else replace(solved, optimal=False)
    if solved is None:
        return _infeasible(request, smallest_conflict(problem), started)

    visits = _extract(problem, solved)
    problems = _verify(request, visits)
    if problems:
        return _infeasible(request, problems, started)
    skipped = tuple(step for step, literal in solved.built.present.items() if not solved.solver.boolean_value(literal))
    outcome = PlanStatus.OPTIMAL if solved.optimal else PlanStatus.FEASIBLE
    recall = _recall(template, visits)
    return PlanResult(
        template.slug,
        outcome,
        tuple(visits),
        _describe(request, visits, skipped, recall, outcome, problem),
        (),
        skipped,
        recall,
        solved.cost,
        (clock.perf_counter() - started) * 1000,
    )


def _extract(problem: PlanProblem, solved: _Solved) -> list[PlannedVisit]:
    visits = []
    for visit in problem.visits:
        chosen = solved.chosen.get(visit.index)
        if chosen is None:
            continue  # an optional step left out
        notes = []
        outside = problem.history_outside(visit.index, chosen)
        if outside:
            notes.append(f"{outside} day(s) outside the ideal window the patient's history sets")
        for off, window in solved.built.deviation.get(visit.index, []):
            days = solved.solver.value(off)
            if days:
                other = problem.visits[window.earlier].treatment
                notes.append(
                    f"{days} day(s) outside the ideal {window.low}-{window.high} days from {other} ({window.rule})"
                )
        fit = Fit.ALLOWED if notes else Fit.IDEAL
        day = date.fromordinal(chosen.day)
        visits.append(PlannedVisit(visit.step, visit.session, visit.treatment, day, chosen.slot, fit, tuple(notes)))
    return sorted(visits, key=lambda v: (v.slot.start, v.step, v.session))


def _verify(request: PlanRequest, visits: Sequence[PlannedVisit]) -> list[Conflict]:
    """The advisor's word on every visit, with the history and the plan's other visits: what the booking will ask."""
    conflicts = []
    for visit in visits:
        others = request.history + tuple(PastVisit(o.treatment, o.day, request.area) for o in visits if o is not visit)
        advice = advise(
            request.knowledge,
            visit.treatment,
            others,
            request.factors,
            today=request.today,
            on=visit.day,
            area=request.area,
        )
        conflicts += [
            Conflict(r.rule, r.message, visit.treatment, visit.day)
            for r in advice.reasons
            if r.severity is Severity.BLOCK
        ]
    return conflicts


def _recall(template: PlanTemplate, visits: Sequence[PlannedVisit]) -> tuple[date, date] | None:
    recall = template.recall
    if recall is None:
        return None
    last = max((v.day for v in visits if v.treatment == recall.treatment), default=None)
    return recall.due(last) if last is not None else None


def _describe(
    request: PlanRequest,
    visits: Sequence[PlannedVisit],
    skipped: tuple[int, ...],
    recall: tuple[date, date] | None,
    status: PlanStatus,
    problem: PlanProblem,
) -> str:
    steps = request.template.steps
    proof = (
        "The best plan the free slots allow (proven)."
        if status is PlanStatus.OPTIMAL
        else f"A safe plan; the {request.time_limit_s:g} s limit came before proof that none is better."
    )
    days = sorted({v.day for v in visits})
    ideal = sum(1 for v in visits if v.fit is Fit.IDEAL)
    text = [
        proof,
        f"{len(visits)} visit(s) on {len(days)} day(s), ending {days[-1]}; {ideal} of {len(visits)} in their "
        "ideal windows.",
    ]
    for index in skipped:
        step = steps[index]
        reasons = problem.blocked.get(step.treatment)
        why = reasons[0].message if reasons else "it does not fit safely in the time available"
        text.append(f"Optional {step.treatment} left out: {why}")
    if recall is not None and request.template.recall is not None:
        text.append(f"{request.template.recall.treatment} is due again from {recall[0]} to {recall[1]}.")
    return " ".join(text)


def _infeasible(request: PlanRequest, conflicts: Sequence[Conflict], started: float) -> PlanResult:
    text = "No safe plan: " + "; ".join(c.message for c in conflicts) if conflicts else "No safe plan."
    elapsed = (clock.perf_counter() - started) * 1000
    return PlanResult(request.template.slug, PlanStatus.INFEASIBLE, (), text, tuple(conflicts), solve_ms=elapsed)
