"""How a plan's visits relate: the catalogue's minimum from one treatment to a later one (lengthened by the
patient's factors), a fixed order or either order between two visits, the ideal windows between neighbours,
and whether two slots on one day clash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from safewindow.domain.advice import find_factor
from safewindow.domain.availability import OfferedTreatment
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_requests import PlanRequest
from safewindow.domain.plan_templates import PlanStep, Spacing
from safewindow.domain.rules import IntervalRule, SameDay
from safewindow.domain.slots import Slot


def slots_clash(a: Slot, a_offered: OfferedTreatment | None, b: Slot, b_offered: OfferedTreatment | None) -> bool:
    """Two visits of one patient that cannot both be booked: the patient cannot be in two places, and a shared
    practitioner, room or device is held for each visit's buffers too, so the two held stretches may not
    overlap (one's clean-up and the other's set-up add up), as the booking check and the database see it."""
    if a.start < b.end and b.start < a.end:
        return True
    shared = (
        a.practitioner_id == b.practitioner_id
        or (a.room_id is not None and a.room_id == b.room_id)
        or (a.device_id is not None and a.device_id == b.device_id)
    )
    if not shared:
        return False
    a_from, a_to = _occupied(a, a_offered)
    b_from, b_to = _occupied(b, b_offered)
    return a_from < b_to and b_from < a_to


def _occupied(slot: Slot, offered: OfferedTreatment | None) -> tuple[datetime, datetime]:
    if offered is None:
        return slot.start, slot.end
    return slot.start - offered.before, slot.end + offered.after


@dataclass(frozen=True, slots=True)
class Minimum:
    """What the catalogue asks from a visit of one treatment to a later visit of another, for one patient: each
    rule's minimum after the earlier day, skin-recovery rules lengthened by the patient's factors exactly as
    the advisor lengthens them. No rules: any order, the same day included."""

    rules: tuple[IntervalRule, ...]
    extension: int

    @classmethod
    def of(cls, kb: KnowledgeBase, earlier: str, later: str, extension: int) -> Minimum:
        return cls(kb.pair_rules.get((earlier, later), ()), extension)

    def ready(self, day: int) -> tuple[int, str | None]:
        """The first day (ordinal) the later treatment may follow one on `day`, and the rule that sets it."""
        best, binding = day, None
        for rule in self.rules:
            ready = rule.minimum.after_ordinal(day) + (self.extension if rule.skin_recovery else 0)
            if binding is None or ready > best:
                best, binding = max(best, ready), rule.id
        return best, binding

    @property
    def in_days(self) -> bool:
        """Whole days only, so the same gap from any day (calendar months are not)."""
        return all(rule.minimum.months == 0 for rule in self.rules)

    def gap(self) -> tuple[int, str | None]:
        ready, rule = self.ready(0)
        return ready, rule

    def ideal(self) -> tuple[int, int, str] | None:
        """The ideal window in days (months as their shortest and longest), narrowed by any maximum."""
        low, high, rule_id = 0, 10**6, None
        for rule in self.rules:
            if rule.ideal is None:
                continue
            lowest = rule.minimum.shortest_days() + (self.extension if rule.skin_recovery else 0)
            low = max(low, rule.ideal[0].shortest_days(), lowest)
            high = min(high, rule.ideal[1].longest_days())
            if rule.maximum is not None:
                high = min(high, rule.maximum.longest_days())
            rule_id = rule_id or rule.id
        return None if rule_id is None or low > high else (low, high, rule_id)

    def same_day_first(self) -> bool:
        """On one day, the earlier treatment must come first (micro-focused ultrasound before injectables)."""
        return any(rule.same_day is SameDay.EARLIER_FIRST for rule in self.rules)


@dataclass(frozen=True, slots=True)
class VisitToPlan:
    index: int
    step: int
    session: int
    treatment: str
    optional: bool


@dataclass(frozen=True, slots=True)
class FixedOrder:
    """`later` at least `days` after `earlier`, in this order, because of `rule`; `minimum` when the days depend
    on the earlier day (calendar months)."""

    earlier: int
    later: int
    days: int
    rule: str | None
    why: str
    minimum: Minimum | None = None


@dataclass(frozen=True, slots=True)
class EitherOrder:
    """Two visits in either order, each order with the catalogue's minimum (None: no rule that way)."""

    first: int
    second: int
    forward: Minimum
    backward: Minimum


@dataclass(frozen=True, slots=True)
class IdealWindow:
    earlier: int
    later: int
    low: int
    high: int
    rule: str
    either: bool = False  # the ideal gap holds in either order (botox and filler)


def factor_extension(request: PlanRequest) -> int:
    return max((find_factor(request.knowledge, f).lengthen_days for f in request.factors), default=0)


def _steps_in_order(steps: Sequence[PlanStep], first: int, second: int) -> bool:
    """Whether the template fixes step `first` before step `second`: every step after `first` up to `second`
    follows its previous one, and none in between is optional (an absent step breaks the chain)."""
    return all(steps[k].after_previous is not None for k in range(first + 1, second + 1)) and not any(
        steps[k].optional for k in range(first + 1, second)
    )


def visit_relations(
    request: PlanRequest, visits: list[VisitToPlan], extension: int
) -> tuple[list[FixedOrder], list[EitherOrder], list[IdealWindow]]:
    """Every pair of the plan's visits: a fixed order with its minimums, or either order; and the ideal
    windows between neighbours (consecutive sessions of a step, consecutive steps)."""
    kb, steps, slug = request.knowledge, request.template.steps, request.template.slug
    links: list[FixedOrder] = []
    either: list[EitherOrder] = []
    windows: list[IdealWindow] = []
    last_of = {v.step: v.index for v in visits}
    first_of = {v.step: v.index for v in reversed(visits)}
    for u in visits:
        for v in visits[u.index + 1 :]:
            forward = Minimum.of(kb, u.treatment, v.treatment, extension)
            same_step = u.step == v.step
            if same_step or _steps_in_order(steps, u.step, v.step):
                # The catalogue's link first: where the plan's spacing only repeats it, the catalogue is named.
                if forward.rules and forward.in_days:
                    days, rule_id = forward.gap()
                    links.append(
                        FixedOrder(u.index, v.index, days, rule_id, f"at least {days} days after {u.treatment}")
                    )
                elif forward.rules:
                    rule_id = forward.rules[0].id
                    links.append(
                        FixedOrder(
                            u.index,
                            v.index,
                            0,
                            rule_id,
                            f"at least {forward.rules[0].minimum} after {u.treatment}",
                            forward,
                        )
                    )
                spacing: Spacing | None = None
                if same_step and v.session == u.session + 1:
                    links.append(FixedOrder(u.index, v.index, 1, None, f"on a later day than {u.treatment}"))
                    spacing = steps[u.step].between
                    rule = f"{slug}:step-{u.step + 1}:between"
                elif v.step == u.step + 1 and u.index == last_of[u.step] and v.index == first_of[v.step]:
                    spacing = steps[v.step].after_previous
                    rule = f"{slug}:step-{v.step + 1}:after-previous"
                else:
                    continue
                if spacing is not None and not spacing.minimum:
                    links.append(
                        FixedOrder(u.index, v.index, 0, None, f"on or after {u.treatment}")  # the order itself
                    )
                elif spacing is not None:
                    links.append(
                        FixedOrder(
                            u.index,
                            v.index,
                            spacing.minimum,
                            rule,
                            f"at least {spacing.minimum} days after {u.treatment}",
                        )
                    )
                _window(windows, u, v, spacing, forward)
                continue
            backward = Minimum.of(kb, v.treatment, u.treatment, extension)
            if forward.rules or backward.rules:
                either.append(EitherOrder(u.index, v.index, forward, backward))
            if v.step == u.step + 1 and u.index == last_of[u.step] and v.index == first_of[v.step]:
                ideal = forward.ideal() or backward.ideal()
                if ideal is not None:
                    windows.append(IdealWindow(u.index, v.index, ideal[0], ideal[1], ideal[2], either=True))
    return links, either, windows


def _window(
    windows: list[IdealWindow], u: VisitToPlan, v: VisitToPlan, spacing: Spacing | None, catalogue: Minimum
) -> None:
    if spacing is not None and spacing.ideal is not None:
        windows.append(IdealWindow(u.index, v.index, spacing.ideal[0], spacing.ideal[1], "plan spacing"))
        return
    ideal = catalogue.ideal()
    if ideal is not None:
        windows.append(IdealWindow(u.index, v.index, ideal[0], ideal[1], ideal[2]))
