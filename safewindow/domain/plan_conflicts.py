"""Why no plan: the chain of minimums from each visit's first free, safe day that overruns a deadline or the last
day searched, or else the smallest set of rules the solver finds in conflict."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ortools.sat.python import cp_model

from safewindow.domain.plan_model import ModelBuilder, new_solver
from safewindow.domain.plan_options import why_no_earlier
from safewindow.domain.plan_problem import PlanProblem
from safewindow.domain.plan_relations import FixedOrder
from safewindow.domain.plan_requests import Conflict


def days_to_finish(problem: PlanProblem) -> dict[int, int]:
    """Fewest days from each visit to the last required one after it, along the fixed order."""
    tails: dict[int, int] = {}
    for visit in reversed(problem.visits):
        tails[visit.index] = max(
            (
                (link.days if link.minimum is None else max(r.minimum.shortest_days() for r in link.minimum.rules))
                + tails[link.later]
                for link in problem.links
                if link.earlier == visit.index and not problem.visits[link.later].optional
            ),
            default=0,
        )
    return tails


def chain_of_minimums(problem: PlanProblem) -> tuple[list[Conflict], dict[int, int]]:
    """Earliest days along the plan's fixed order (every visit that must happen): from each visit's first free,
    safe day, through the minimums that bind, snapped to the next free, safe day. A visit that lands past its
    deadline or past the last day searched is the conflict, with the chain of links that put it there.
    Otherwise the earliest day of each visit."""
    request = problem.request
    into: dict[int, list[FixedOrder]] = {}
    for link in problem.links:
        into.setdefault(link.later, []).append(link)
    earliest: dict[int, int] = {}
    chains: dict[int, list[Conflict]] = {}  # visit -> the links that bring it to its earliest day
    for visit in (v for v in problem.visits if not v.optional):
        days = problem.steps[visit.step]
        first = days.first_from(problem.base)
        if first is None:
            return problem.blocked.get(visit.treatment) or days.why_none(), {}
        bound, chain = first, why_no_earlier(request, visit.treatment, first, problem.base)
        for link in into.get(visit.index, []):
            if link.earlier not in earliest:
                continue
            after = earliest[link.earlier]
            ready = link.minimum.ready(after)[0] if link.minimum is not None else after + link.days
            if ready > bound:
                message = (
                    f"{visit.treatment} {link.why} on {date.fromordinal(after)}: not before {date.fromordinal(ready)}"
                )
                bound = ready
                chain = [
                    *chains[link.earlier],
                    Conflict(link.rule or "plan-order", message, visit.treatment, date.fromordinal(ready)),
                ]
        landed = days.first_from(bound)
        if landed is None:
            last = date.fromordinal(days.days[-1])
            return [
                *chain,
                Conflict(
                    "no-free-slot",
                    f"no free slot safe for {visit.treatment} from {date.fromordinal(bound)} up to {last}, "
                    "the last day searched (the clinic's booking horizon)",
                    visit.treatment,
                    last,
                ),
            ], {}
        if landed > bound:
            message = (
                f"the first free slot safe for {visit.treatment} from {date.fromordinal(bound)} is on "
                f"{date.fromordinal(landed)}"
            )
            chain = [*chain, Conflict("no-free-slot", message, visit.treatment, date.fromordinal(landed))]
        deadline = problem.deadlines.get(visit.index)
        if deadline is not None and landed > deadline[0]:
            last_day, rule_id, why = deadline
            message = f"{why}: by {date.fromordinal(last_day)}, {landed - last_day} day(s) before it can be"
            return [*chain, Conflict(rule_id, message, visit.treatment, date.fromordinal(last_day))], {}
        earliest[visit.index], chains[visit.index] = landed, chain
    return [], earliest


def smallest_conflict(problem: PlanProblem) -> list[Conflict]:
    """No chain overruns, so the conflict lies in either-order pairs or same-day clashes: ask the solver which
    rules cannot hold together, then drop each one the conflict does not need (a minimal set, not a guess)."""
    problem.scope(deadlines=False)
    built = ModelBuilder(problem, explaining=True).build()
    names = list(built.uses)

    def infeasible(rules: Iterable[str]) -> bool:
        model = built.model.clone()
        kept = set(rules)
        for rule_id in names:
            model.add(built.uses[rule_id] == (1 if rule_id in kept else 0))
        return new_solver(problem.request, time_limit=2.0).solve(model) == cp_model.INFEASIBLE

    clash = Conflict("no-free-slot", "the free slots cannot hold every visit of the plan without a clash")
    if infeasible(()) or not infeasible(names):
        return [clash]  # availability alone, or the solver ran out of time: say only what is certain
    needed = list(names)
    for rule_id in list(needed):
        if infeasible(r for r in needed if r != rule_id):
            needed.remove(rule_id)
    return [_rule_conflict(problem, rule_id) for rule_id in needed]


def _rule_conflict(problem: PlanProblem, rule_id: str) -> Conflict:
    for deadline in problem.deadlines.values():
        if deadline[1] == rule_id:
            last = date.fromordinal(deadline[0])
            return Conflict(rule_id, f"{deadline[2]}: by {last}", None, last)
    for link in problem.links:
        if link.rule == rule_id:
            return Conflict(rule_id, f"{problem.visits[link.later].treatment} {link.why}")
    try:
        rule = problem.request.knowledge.rule(rule_id)
    except KeyError:
        return Conflict(rule_id, rule_id)
    return Conflict(rule_id, f"{rule_id}: {rule.rationale}")
