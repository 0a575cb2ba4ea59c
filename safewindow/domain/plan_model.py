"""The CP-SAT model of a plan problem: the hard rules as constraints (or, when explaining, each enforced by its
rule's literal) and the soft ones as the weighted cost; and the solver's settings."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from safewindow.domain.plan_options import SlotOption
from safewindow.domain.plan_problem import PlanProblem, may_share_day
from safewindow.domain.plan_relations import IdealWindow, Minimum, slots_clash
from safewindow.domain.plan_requests import PlanRequest


@dataclass
class BuiltModel:
    model: cp_model.CpModel
    choose: list[list[cp_model.IntVar]]  # per visit, one literal per option
    day: list[cp_model.IntVar]
    present: dict[int, cp_model.IntVar]  # optional steps only
    uses: dict[str, cp_model.IntVar]  # rule id -> literal enforcing it (explaining only)
    deviation: dict[int, list[tuple[cp_model.IntVar, IdealWindow]]]  # later visit -> its ideal-window deviations


class ModelBuilder:
    def __init__(self, problem: PlanProblem, explaining: bool) -> None:
        self.problem = problem
        self.explaining = explaining
        self.model = cp_model.CpModel()
        self.uses: dict[str, cp_model.IntVar] = {}
        self.present: dict[int, cp_model.IntVar] = {}

    def rule(self, rule_id: str | None) -> list[cp_model.IntVar]:
        """The literal a rule's constraints are enforced by: none when solving, an assumption when explaining."""
        if not self.explaining or rule_id is None:
            return []
        if rule_id not in self.uses:
            self.uses[rule_id] = self.model.new_bool_var(f"use {rule_id}")
        return [self.uses[rule_id]]

    def presence(self, *visits: int) -> list[cp_model.IntVar]:
        steps = {self.problem.visits[v].step for v in visits}
        return [self.present[s] for s in sorted(steps) if s in self.present]

    def build(self) -> BuiltModel:
        problem, model = self.problem, self.model
        request, weights = problem.request, problem.request.weights
        for index, step in enumerate(request.template.steps):
            if step.optional:
                self.present[index] = model.new_bool_var(f"step {index} present")
        choose: list[list[cp_model.IntVar]] = []
        day: list[cp_model.IntVar] = []
        horizon = max((problem.offset(o.day) for opts in problem.options for o in opts), default=1)
        for visit in problem.visits:
            options = self._options(visit.index)
            literals = [model.new_bool_var(f"v{visit.index} o{i}") for i in range(len(options))]
            choose.append(literals)
            variable = model.new_int_var(0, horizon, f"day {visit.index}")
            day.append(variable)
            chosen = sum(literals) if literals else 0
            if visit.step in self.present:
                model.add(chosen == self.present[visit.step])
            else:
                model.add(chosen == 1)
            model.add(variable == sum(problem.offset(o.day) * lit for o, lit in zip(options, literals, strict=True)))
            if visit.index in problem.deadlines and self.explaining:
                last, rule_id, _ = problem.deadlines[visit.index]
                model.add(variable <= problem.offset(last)).only_enforce_if(
                    self.rule(rule_id) + self.presence(visit.index)
                )

        for link in problem.links:
            enforce = self.rule(link.rule) + self.presence(link.earlier, link.later)
            if link.minimum is None:
                model.add(day[link.later] - day[link.earlier] >= link.days).only_enforce_if(enforce)
            else:
                for option, literal in zip(self._options(link.earlier), choose[link.earlier], strict=True):
                    ready, _ = link.minimum.ready(option.day)
                    model.add(day[link.later] >= problem.offset(ready)).only_enforce_if([literal, *enforce])

        for pair in problem.either:
            first_before = model.new_bool_var(f"{pair.first} before {pair.second}")
            present = self.presence(pair.first, pair.second)
            self._one_way(pair.first, pair.second, pair.forward, choose, day, [first_before, *present])
            self._one_way(pair.second, pair.first, pair.backward, choose, day, [~first_before, *present])

        self._same_day(choose)
        if self.explaining:
            return BuiltModel(model, choose, day, self.present, self.uses, {})

        deviation: dict[int, list[tuple[cp_model.IntVar, IdealWindow]]] = {}
        costs: list[cp_model.LinearExprT] = []
        for window in problem.windows:
            off = model.new_int_var(0, horizon, f"outside {window.earlier}-{window.later}")
            present = self.presence(window.earlier, window.later)
            gap = day[window.later] - day[window.earlier]
            if window.either:
                gap_var = model.new_int_var(-horizon, horizon, "gap")
                model.add(gap_var == gap)
                distance = model.new_int_var(0, horizon, "distance")
                model.add_abs_equality(distance, gap_var)
                model.add(off >= distance - window.high).only_enforce_if(present)
                model.add(off >= window.low - distance).only_enforce_if(present)
            else:
                model.add(off >= gap - window.high).only_enforce_if(present)
                model.add(off >= window.low - gap).only_enforce_if(present)
            deviation.setdefault(window.later, []).append((off, window))
            costs.append(weights.outside_ideal_day * off)

        finish = model.new_int_var(0, horizon, "last day")
        for visit in problem.visits:
            model.add(finish >= day[visit.index])
            costs.append(weights.visit_day * day[visit.index])
            for option, literal in zip(self._options(visit.index), choose[visit.index], strict=True):
                points = option.cost + weights.outside_ideal_day * problem.history_outside(visit.index, option)
                if points:
                    costs.append(points * literal)
            target = request.targets.get(visit.step)
            if target is not None and weights.away_from_target_day:
                away = model.new_int_var(0, 2 * horizon + abs(problem.offset(target.toordinal())), "away")
                model.add_abs_equality(away, day[visit.index] - problem.offset(target.toordinal()))
                costs.append(weights.away_from_target_day * away)
        costs.append(weights.finish_day * finish)

        costs.append(weights.extra_trip * self._trips(choose))
        for literal in self.present.values():
            costs.append(weights.skipped_optional_step * (1 - literal))
        model.minimize(sum(costs))
        return BuiltModel(model, choose, day, self.present, self.uses, deviation)

    def _options(self, visit: int) -> list[SlotOption]:
        return self.problem.options[visit]

    def _trips(self, choose: list[list[cp_model.IntVar]]) -> cp_model.LinearExprT:
        """Clinic days: one per visit, less one for each visit that joins an earlier one's day. Only pairs that
        may share a day can join, and joining is tied to the chosen slots' days by clauses, which the solver
        propagates far better than one indicator per calendar day."""
        problem, model = self.problem, self.model
        count: list[cp_model.LinearExprT] = [self.present.get(v.step, 1) for v in problem.visits]
        for v in problem.visits:
            partners = [
                u for u in problem.visits[: v.index] if u.step != v.step and may_share_day(problem, u.index, v.index)
            ]
            if not partners:
                continue
            joined = []
            for u in partners:
                same = model.new_bool_var(f"{u.index} with {v.index}")
                joined.append(same)
                for literal in self.presence(u.index, v.index):
                    model.add_implication(same, literal)  # an absent visit has no day to share
                on_day: dict[int, list[cp_model.IntVar]] = {}
                for option, literal in zip(self._options(v.index), choose[v.index], strict=True):
                    on_day.setdefault(option.day, []).append(literal)
                for option, literal in zip(self._options(u.index), choose[u.index], strict=True):
                    model.add_bool_or([~same, ~literal, *on_day.get(option.day, [])])
            joins = model.new_bool_var(f"{v.index} joins")
            model.add_bool_or([~joins, *joined])
            count.append(-joins)
        return sum(count)

    def _one_way(
        self,
        earlier: int,
        later: int,
        minimum: Minimum,
        choose: list[list[cp_model.IntVar]],
        day: list[cp_model.IntVar],
        when: list[cp_model.BoolVarT],
    ) -> None:
        """If `earlier` comes first (or on the same day), `later` waits what the catalogue asks."""
        if not minimum.rules:
            self.model.add(day[later] >= day[earlier]).only_enforce_if(when)
            return
        if minimum.in_days:
            days, rule_id = minimum.gap()
            enforce = when + self.rule(rule_id)
            self.model.add(day[later] - day[earlier] >= days).only_enforce_if(enforce)
            return
        self.model.add(day[later] >= day[earlier]).only_enforce_if(when)
        for option, literal in zip(self._options(earlier), choose[earlier], strict=True):
            ready, rule_id = minimum.ready(option.day)
            enforce = [literal, *when, *self.rule(rule_id)]
            self.model.add(day[later] >= self.problem.offset(ready)).only_enforce_if(enforce)

    def _same_day(self, choose: list[list[cp_model.IntVar]]) -> None:
        """Two visits on one day must not clash; a fixed order (or a rule's same-day order) holds in time too."""
        problem = self.problem
        fixed = {(link.earlier, link.later): link for link in problem.links}
        either = {(pair.first, pair.second): pair for pair in problem.either}
        treatments = problem.request.treatments
        for u in problem.visits:
            for v in problem.visits[u.index + 1 :]:
                if u.step == v.step or not may_share_day(problem, u.index, v.index):
                    continue
                ordered = (u.index, v.index) in fixed
                pair = either.get((u.index, v.index))
                first_u = ordered or (pair is not None and pair.forward.same_day_first())
                first_v = pair is not None and pair.backward.same_day_first()
                by_day: dict[int, list[tuple[SlotOption, cp_model.IntVar]]] = {}
                for option, literal in zip(self._options(v.index), choose[v.index], strict=True):
                    by_day.setdefault(option.day, []).append((option, literal))
                for a, a_literal in zip(self._options(u.index), choose[u.index], strict=True):
                    for b, b_literal in by_day.get(a.day, ()):
                        clash = slots_clash(a.slot, treatments.get(u.treatment), b.slot, treatments.get(v.treatment))
                        clash = clash or (first_u and b.slot.start < a.slot.end)
                        clash = clash or (first_v and a.slot.start < b.slot.end)
                        if clash:
                            self.model.add_bool_or([~a_literal, ~b_literal])


def new_solver(request: PlanRequest, time_limit: float | None = None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = request.workers
    solver.parameters.max_time_in_seconds = time_limit or request.time_limit_s
    solver.parameters.random_seed = 0
    return solver
