"""Each step's candidate slots by clinic day: the advisor asked once per day, the best few slots kept by the
patient's preferences; and why a step can be no earlier than its first free, safe day."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from safewindow.domain.advice import Severity, advise
from safewindow.domain.history import clinic_day
from safewindow.domain.plan_relations import Minimum, factor_extension
from safewindow.domain.plan_requests import Conflict, PlanRequest
from safewindow.domain.plan_templates import PlanStep
from safewindow.domain.slots import Slot
from safewindow.domain.weekly_hours import ClinicDay


@dataclass(frozen=True, slots=True)
class SlotOption:
    slot: Slot
    day: int  # ordinal of the clinic-zone day
    cost: int  # preference points
    outside: int  # days outside the ideal window the patient's history sets


class StepDays:
    """One step's candidate slots by clinic day. A day's options (the advisor asked once, the best few slots
    kept) are worked out when first needed, so a long horizon costs only the days a plan can reach."""

    def __init__(self, request: PlanRequest, step: PlanStep, slots: Sequence[Slot]) -> None:
        self.request, self.step = request, step
        self.keep = request.per_day
        self.by_day = _by_day(request, slots)
        self.days = sorted(self.by_day)
        self._options: dict[int, list[SlotOption]] = {}

    def options(self, day: int) -> list[SlotOption]:
        """The day's options, best first; none when the advisor blocks the day given the history."""
        if day not in self._options:
            self._options[day] = self._work_out(day)
        return self._options[day]

    def _work_out(self, ordinal: int) -> list[SlotOption]:
        request, day = self.request, date.fromordinal(ordinal)
        advice = advise(
            request.knowledge,
            self.step.treatment,
            request.history,
            request.factors,
            today=request.today,
            on=day,
            area=request.area,
        )
        if any(r.severity is Severity.BLOCK for r in advice.reasons):
            return []
        outside = 0
        if advice.ideal_start is not None and advice.ideal_end is not None:
            outside = max((advice.ideal_start - day).days, (day - advice.ideal_end).days, 0)
        costed = sorted(((_preference_cost(request, s), s) for s in self.by_day[ordinal]), key=_rank)
        return [SlotOption(slot, ordinal, cost, outside) for cost, slot in _spread(costed, self.keep)]

    def until(self, last: int | None) -> list[SlotOption]:
        return [o for day in self.days if last is None or day <= last for o in self.options(day)]

    def why_none(self) -> list[Conflict]:
        """Why no day has an option: the advisor's blocks on the first free day, or no free slot at all."""
        treatment, request = self.step.treatment, self.request
        if not self.days:
            # The slot finder may have left out the unsafe days already: the advisor says whether that is why.
            advice = advise(
                request.knowledge, treatment, request.history, request.factors, today=request.today, area=request.area
            )
            last = request.last_day
            earliest = advice.earliest_bookable
            if earliest is not None and last is not None and earliest > last:
                lead = Conflict(
                    "no-safe-day",
                    f"the earliest safe day for {treatment} is {earliest}, after the last day searched ({last})",
                    treatment,
                    earliest,
                )
                searched = request.today.toordinal() - 1
                why = [
                    c
                    for c in why_no_earlier(request, treatment, earliest.toordinal(), searched)
                    if c.rule != "first-free-slot"
                ]
                return [*why, lead]
            return [Conflict("no-free-slot", f"no free slot for {treatment} in the days searched", treatment, last)]
        day = date.fromordinal(self.days[0])
        advice = advise(
            request.knowledge,
            treatment,
            request.history,
            request.factors,
            today=request.today,
            on=day,
            area=request.area,
        )
        blocks = [r for r in advice.reasons if r.severity is Severity.BLOCK]
        last = date.fromordinal(self.days[-1])
        lead = Conflict(
            "no-safe-day", f"no free slot for {treatment} from {day} to {last} is safe for the patient", treatment, last
        )
        return [lead, *(Conflict(r.rule, r.message, treatment, day) for r in blocks)]

    def first_from(self, day: int) -> int | None:
        """The first day from `day` on with an option."""
        for candidate in self.days[bisect_left(self.days, day) :]:
            if self.options(candidate):
                return candidate
        return None


def _rank(costed: tuple[int, Slot]) -> tuple[int, datetime, str]:
    return costed[0], costed[1].start, costed[1].practitioner_id


def _by_day(request: PlanRequest, slots: Sequence[Slot]) -> dict[int, list[Slot]]:
    """Slots grouped by the clinic day they start on (from today and the first day asked); a day's bounds are
    worked out once, since slots come in runs of one day."""
    first = max(request.today, request.first_day or request.today).toordinal()
    groups: dict[int, list[Slot]] = {}
    ordinal, since, until = 0, datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    for slot in slots:
        if not since <= slot.start < until:
            day = clinic_day(slot.start, request.zone)
            ordinal = day.toordinal()
            since, until = ClinicDay(day, request.zone).start, ClinicDay(day + timedelta(days=1), request.zone).start
        if ordinal >= first:
            groups.setdefault(ordinal, []).append(slot)
    return groups


def _spread(ranked: list[tuple[int, Slot]], keep: int) -> list[tuple[int, Slot]]:
    """The best slots of a day, an hour or more apart where possible, so visits sharing the day still fit."""
    kept: list[tuple[int, Slot]] = []
    for costed in ranked:
        if len(kept) < keep and all(abs(costed[1].start - k[1].start) >= timedelta(hours=1) for k in kept):
            kept.append(costed)
    for costed in ranked:
        if len(kept) < keep and costed not in kept:
            kept.append(costed)
    return kept


def _preference_cost(request: PlanRequest, slot: Slot) -> int:
    wanted, weights = request.preferences, request.weights
    if not wanted.weekdays and not wanted.times and wanted.practitioner_id is None:
        return 0
    local = slot.start.astimezone(request.zone)
    cost = 0
    if wanted.weekdays and local.weekday() not in wanted.weekdays:
        cost += weights.not_preferred_weekday
    if wanted.times and not any(start <= local.time() < end for start, end in wanted.times):
        cost += weights.not_preferred_time
    if wanted.practitioner_id is not None and slot.practitioner_id != wanted.practitioner_id:
        cost += weights.not_preferred_practitioner
    return cost


def why_no_earlier(request: PlanRequest, treatment: str, first: int, searched_from: int) -> list[Conflict]:
    """Why a visit can be no earlier than `first`, its first free, safe day from `searched_from`: the history
    visit whose rule waits longest past the first day searched (then the diary, if it adds days), or the diary."""
    extension, chosen = factor_extension(request), None
    for visit in request.history:
        ready, rule_id = Minimum.of(request.knowledge, visit.treatment, treatment, extension).ready(
            visit.day.toordinal()
        )
        if rule_id is not None and searched_from < ready <= first and (chosen is None or ready > chosen[0]):
            chosen = (ready, rule_id, visit)
    day = date.fromordinal(first)
    free = Conflict("first-free-slot", f"the first free slot safe for {treatment} is on {day}", treatment, day)
    if chosen is None:
        return [free]
    ready, rule_id, visit = chosen
    waits = Conflict(
        rule_id,
        f"{treatment} after {visit.treatment} on {visit.day}: not before {date.fromordinal(ready)}",
        treatment,
        date.fromordinal(ready),
    )
    if ready == first:
        return [waits]
    later = f"the first free slot safe for {treatment} from {date.fromordinal(ready)} is on {day}"
    return [waits, Conflict("no-free-slot", later, treatment, day)]
