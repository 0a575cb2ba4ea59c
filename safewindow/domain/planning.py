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
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from safewindow.domain.advice import Severity, advise, find_factor, find_treatment
from safewindow.domain.availability import OfferedTreatment
from safewindow.domain.history import DEFAULT_AREA, PastVisit, clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import Evidence, IntervalRule, SameDay
from safewindow.domain.slots import Fit, Slot
from safewindow.domain.spans import Span
from safewindow.domain.weekly_hours import ClinicDay

# --- Templates: the knowledge base's plans, as values ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spacing:
    """Days from one visit to the next on top of the catalogue's rules: at least `minimum`, ideally `ideal`."""

    minimum: int = 0
    ideal: tuple[int, int] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.minimum < 0:
            raise ValueError("a spacing's minimum cannot be negative")
        if self.ideal is not None and not self.minimum <= self.ideal[0] <= self.ideal[1]:
            raise ValueError("a spacing needs minimum <= ideal start <= ideal end")


@dataclass(frozen=True, slots=True)
class PlanStep:
    treatment: str
    count: int = 1
    between: Spacing | None = None  # between this step's own sessions
    after_previous: Spacing | None = None  # from the previous step's last session; None: either order
    optional: bool = False

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"{self.treatment}: a step has at least one session")


@dataclass(frozen=True, slots=True)
class EventRule:
    """`treatments` done at least `days_before` days before the patient's event (a wedding, a photo shoot)."""

    id: str
    treatments: frozenset[str]
    days_before: int
    rationale: str
    evidence: Evidence
    source: str


@dataclass(frozen=True, slots=True)
class Recall:
    """When a treatment is due again: the ideal window of the catalogue's repeat rule, from the last visit."""

    id: str
    treatment: str
    rule: str
    window: tuple[Span, Span]
    rationale: str
    source: str

    def due(self, last: date) -> tuple[date, date]:
        return self.window[0].after(last), self.window[1].after(last)


@dataclass(frozen=True, slots=True)
class PlanTemplate:
    slug: str
    name: str
    goal: str
    needs_event: bool
    steps: tuple[PlanStep, ...]
    event_rules: tuple[EventRule, ...] = ()
    recall: Recall | None = None

    def __post_init__(self) -> None:
        if not self.steps or all(step.optional for step in self.steps):
            raise ValueError(f"{self.slug}: a plan needs at least one step that is not optional")
        if self.steps[0].after_previous is not None:
            raise ValueError(f"{self.slug}: the first step has no previous step to follow")

    def deadline(self, treatment: str, event: date) -> tuple[date, str, str]:
        """The last day `treatment` may be done before `event`: the strictest event rule naming it, else the day
        before; with the rule's id and what it asks."""
        rules = [rule for rule in self.event_rules if treatment in rule.treatments]
        if not rules:
            return event - timedelta(days=1), "before-event", f"{treatment} before the event on {event}"
        rule = max(rules, key=lambda r: r.days_before)
        why = f"{treatment} at least {rule.days_before} days before the event on {event}"
        return event - timedelta(days=rule.days_before), rule.id, why


# --- What the patient wants, and what the solver trades off ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preferences:
    weekdays: frozenset[int] = frozenset()  # 0 = Monday; empty: any day
    times: tuple[tuple[time, time], ...] = ()  # local start times, [from, until); empty: any time
    practitioner_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlanWeights:
    """Points the solver adds up; the plan with the fewest wins. Safety is never traded: these are only soft."""

    finish_day: int = 10  # each day from the first day searched to the last visit
    visit_day: int = 1  # each day each visit waits, so nothing drifts late that need not
    outside_ideal_day: int = 20  # each day a gap lies outside its ideal window (plan spacing, catalogue, history)
    extra_trip: int = 60  # each separate clinic day: compatible treatments share a trip
    not_preferred_weekday: int = 30
    not_preferred_time: int = 15
    not_preferred_practitioner: int = 25
    skipped_optional_step: int = 2000  # an optional step is left out only when it cannot fit
    away_from_target_day: int = 0  # re-planning: each day a visit lands from where it was


CandidateSource = Callable[[int, PlanStep], Sequence[Slot]]


@dataclass(frozen=True, slots=True)
class PlanRequest:
    template: PlanTemplate
    knowledge: KnowledgeBase
    today: date  # the clinic's today
    zone: ZoneInfo  # the clinic's zone: day rules count its calendar days
    history: tuple[PastVisit, ...] = ()  # done and booked visits that stay where they are
    factors: tuple[str, ...] = ()
    area: str = DEFAULT_AREA
    event: date | None = None
    first_day: date | None = None  # no visit before this day
    last_day: date | None = None  # the last day candidates were sought (the booking horizon): said when nothing fits
    preferences: Preferences = Preferences()
    weights: PlanWeights = PlanWeights()
    treatments: Mapping[str, OfferedTreatment] = field(default_factory=dict)  # buffers, for same-day clashes
    targets: Mapping[int, date] = field(default_factory=dict)  # step index -> day it was (re-planning)
    per_day: int = 3  # candidate slots kept per step and day: the day matters to the rules, the time to taste
    time_limit_s: float = 10.0
    workers: int = 1  # one worker is deterministic, and fastest on models this size

    def __post_init__(self) -> None:
        if self.template.needs_event and self.event is None:
            raise ValueError(f"event: the {self.template.slug} plan needs the event's date")
        if self.per_day < 1 or self.workers < 1 or self.time_limit_s <= 0:
            raise ValueError("per_day, workers and time_limit_s must be positive")
        for step in self.template.steps:
            find_treatment(self.knowledge, step.treatment)
        for factor in self.factors:
            find_factor(self.knowledge, factor)


# --- Results -----------------------------------------------------------------------------------------------------


class PlanStatus(StrEnum):
    OPTIMAL = "optimal"  # proven best of every plan the kept candidate slots allow
    FEASIBLE = "feasible"  # safe, but the time limit came before the proof
    INFEASIBLE = "infeasible"


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    step: int  # index into the template's steps
    session: int  # 1, 2, 3 ... within the step
    treatment: str
    day: date  # in the clinic's zone
    slot: Slot
    fit: Fit  # ideal: inside every ideal window that applies; allowed: `notes` say which it misses
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conflict:
    """One link of why no plan exists: a rule (catalogue, template spacing, event, availability) and its date."""

    rule: str
    message: str
    treatment: str | None = None
    day: date | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "treatment": self.treatment,
            "day": self.day.isoformat() if self.day else None,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class PlanResult:
    template: str
    status: PlanStatus
    visits: tuple[PlannedVisit, ...]
    explanation: str
    conflicts: tuple[Conflict, ...] = ()
    skipped_steps: tuple[int, ...] = ()  # optional steps left out
    recall: tuple[date, date] | None = None  # when the template's recall falls due after the plan
    cost: int | None = None
    solve_ms: float = 0.0


# --- Building blocks ---------------------------------------------------------------------------------------------


def slots_clash(a: Slot, a_offered: OfferedTreatment | None, b: Slot, b_offered: OfferedTreatment | None) -> bool:
    """Two visits of one patient that cannot both be booked: the patient cannot be in two places, and a shared
    practitioner, room or device keeps each visit's buffers clear of the other, whichever is booked first."""
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
    return (a_from < b.end and b.start < a_to) or (b_from < a.end and a.start < b_to)


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
class _Visit:
    index: int
    step: int
    session: int
    treatment: str
    optional: bool


@dataclass(frozen=True, slots=True)
class _Option:
    slot: Slot
    day: int  # ordinal of the clinic-zone day
    cost: int  # preference points
    outside: int  # days outside the ideal window the patient's history sets


@dataclass(frozen=True, slots=True)
class _Link:
    """`later` at least `days` after `earlier`, in this order, because of `rule`; `minimum` when the days depend
    on the earlier day (calendar months)."""

    earlier: int
    later: int
    days: int
    rule: str | None
    why: str
    minimum: Minimum | None = None


@dataclass(frozen=True, slots=True)
class _Either:
    """Two visits in either order, each order with the catalogue's minimum (None: no rule that way)."""

    first: int
    second: int
    forward: Minimum
    backward: Minimum


@dataclass(frozen=True, slots=True)
class _Window:
    earlier: int
    later: int
    low: int
    high: int
    rule: str
    either: bool = False  # the ideal gap holds in either order (botox and filler)


def _steps_in_order(steps: Sequence[PlanStep], first: int, second: int) -> bool:
    """Whether the template fixes step `first` before step `second`: every step after `first` up to `second`
    follows its previous one, and none in between is optional (an absent step breaks the chain)."""
    return all(steps[k].after_previous is not None for k in range(first + 1, second + 1)) and not any(
        steps[k].optional for k in range(first + 1, second)
    )


# --- The problem: visits, their options, their relations ---------------------------------------------------------


class _StepDays:
    """One step's candidate slots by clinic day. A day's options (the advisor asked once, the best few slots
    kept) are worked out when first needed, so a long horizon costs only the days a plan can reach."""

    def __init__(self, request: PlanRequest, step: PlanStep, slots: Sequence[Slot]) -> None:
        self.request, self.step = request, step
        self.keep = request.per_day
        self.by_day = _by_day(request, slots)
        self.days = sorted(self.by_day)
        self._options: dict[int, list[_Option]] = {}

    def options(self, day: int) -> list[_Option]:
        """The day's options, best first; none when the advisor blocks the day given the history."""
        if day not in self._options:
            self._options[day] = self._work_out(day)
        return self._options[day]

    def _work_out(self, ordinal: int) -> list[_Option]:
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
        return [_Option(slot, ordinal, cost, outside) for cost, slot in _spread(costed, self.keep)]

    def until(self, last: int | None) -> list[_Option]:
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
                    for c in _release(request, treatment, earliest.toordinal(), searched)
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


@dataclass
class _Problem:
    """Everything the model is built from: the visits, their options in scope, the relations, the deadlines."""

    request: PlanRequest
    visits: list[_Visit]
    steps: list[_StepDays]
    deadlines: dict[int, tuple[int, str, str]]  # visit -> last ordinal, rule, why
    links: list[_Link]
    either: list[_Either]
    windows: list[_Window]
    base: int  # the ordinal one day before the first candidate day: offsets start at 1, 0 means absent
    blocked: dict[str, list[Conflict]]  # treatments the patient may not have at all, and why
    options: list[list[_Option]] = field(default_factory=list)  # per visit, what the model chooses from
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

    def history_outside(self, visit: int, option: _Option) -> int:
        """Days outside the ideal window the history sets, for a visit nothing in the plan comes before: for the
        others a planned visit is the latest before them, and its window is the one that counts."""
        return 0 if visit in self.preceded else option.outside

    def least_cost(self, visit: _Visit, option: _Option) -> int:
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


def _extension(request: PlanRequest) -> int:
    return max((find_factor(request.knowledge, f).lengthen_days for f in request.factors), default=0)


def _prepare(request: PlanRequest, candidates: Sequence[Sequence[Slot]] | CandidateSource) -> _Problem:
    template = request.template
    source: CandidateSource = candidates if callable(candidates) else (lambda index, _step: candidates[index])
    visits: list[_Visit] = []
    steps: list[_StepDays] = []
    blocked: dict[str, list[Conflict]] = {}
    for index, step in enumerate(template.steps):
        general = advise(
            request.knowledge, step.treatment, request.history, request.factors, today=request.today, area=request.area
        )
        if not general.allowed:
            reasons = [r for r in general.reasons if r.severity is Severity.BLOCK]
            blocked[step.treatment] = [Conflict(r.rule, r.message, step.treatment) for r in reasons]
        steps.append(_StepDays(request, step, source(index, step) if general.allowed else ()))
        for session in range(1, step.count + 1):
            visits.append(_Visit(len(visits), index, session, step.treatment, step.optional))

    deadlines: dict[int, tuple[int, str, str]] = {}
    if request.event is not None:
        for visit in visits:
            last, rule, why = template.deadline(visit.treatment, request.event)
            deadlines[visit.index] = (last.toordinal(), rule, why)

    links, either, windows = _relations(request, visits, _extension(request))
    first = min((days.days[0] for days in steps if days.days), default=request.today.toordinal())
    problem = _Problem(request, visits, steps, deadlines, links, either, windows, first - 1, blocked)
    for index, days in enumerate(steps):
        # A step whose visits never share a day with another step's needs only its best slot per day.
        mine = [v.index for v in visits if v.step == index]
        others = [v.index for v in visits if v.step != index]
        if not any(_may_share_day(problem, min(u, v), max(u, v)) for u in mine for v in others):
            days.keep = 1
    return problem


def _relations(
    request: PlanRequest, visits: list[_Visit], extension: int
) -> tuple[list[_Link], list[_Either], list[_Window]]:
    """Every pair of the plan's visits: a fixed order with its minimums, or either order; and the ideal
    windows between neighbours (consecutive sessions of a step, consecutive steps)."""
    kb, steps, slug = request.knowledge, request.template.steps, request.template.slug
    links: list[_Link] = []
    either: list[_Either] = []
    windows: list[_Window] = []
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
                    links.append(_Link(u.index, v.index, days, rule_id, f"at least {days} days after {u.treatment}"))
                elif forward.rules:
                    rule_id = forward.rules[0].id
                    links.append(
                        _Link(
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
                    links.append(_Link(u.index, v.index, 1, None, f"on a later day than {u.treatment}"))
                    spacing = steps[u.step].between
                    rule = f"{slug}:step-{u.step + 1}:between"
                elif v.step == u.step + 1 and u.index == last_of[u.step] and v.index == first_of[v.step]:
                    spacing = steps[v.step].after_previous
                    rule = f"{slug}:step-{v.step + 1}:after-previous"
                else:
                    continue
                if spacing is not None and not spacing.minimum:
                    links.append(_Link(u.index, v.index, 0, None, f"on or after {u.treatment}"))  # the order itself
                elif spacing is not None:
                    links.append(
                        _Link(
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
                either.append(_Either(u.index, v.index, forward, backward))
            if v.step == u.step + 1 and u.index == last_of[u.step] and v.index == first_of[v.step]:
                ideal = forward.ideal() or backward.ideal()
                if ideal is not None:
                    windows.append(_Window(u.index, v.index, ideal[0], ideal[1], ideal[2], either=True))
    return links, either, windows


def _window(windows: list[_Window], u: _Visit, v: _Visit, spacing: Spacing | None, catalogue: Minimum) -> None:
    if spacing is not None and spacing.ideal is not None:
        windows.append(_Window(u.index, v.index, spacing.ideal[0], spacing.ideal[1], "plan spacing"))
        return
    ideal = catalogue.ideal()
    if ideal is not None:
        windows.append(_Window(u.index, v.index, ideal[0], ideal[1], ideal[2]))


@dataclass
class _Built:
    model: cp_model.CpModel
    choose: list[list[cp_model.IntVar]]  # per visit, one literal per option
    day: list[cp_model.IntVar]
    present: dict[int, cp_model.IntVar]  # optional steps only
    uses: dict[str, cp_model.IntVar]  # rule id -> literal enforcing it (explaining only)
    deviation: dict[int, list[tuple[cp_model.IntVar, _Window]]]  # later visit -> its ideal-window deviations


class _Builder:
    def __init__(self, problem: _Problem, explaining: bool) -> None:
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

    def build(self) -> _Built:
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
            return _Built(model, choose, day, self.present, self.uses, {})

        deviation: dict[int, list[tuple[cp_model.IntVar, _Window]]] = {}
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
        return _Built(model, choose, day, self.present, self.uses, deviation)

    def _options(self, visit: int) -> list[_Option]:
        return self.problem.options[visit]

    def _trips(self, choose: list[list[cp_model.IntVar]]) -> cp_model.LinearExprT:
        """Clinic days: one per visit, less one for each visit that joins an earlier one's day. Only pairs that
        may share a day can join, and joining is tied to the chosen slots' days by clauses, which the solver
        propagates far better than one indicator per calendar day."""
        problem, model = self.problem, self.model
        count: list[cp_model.LinearExprT] = [self.present.get(v.step, 1) for v in problem.visits]
        for v in problem.visits:
            partners = [
                u for u in problem.visits[: v.index] if u.step != v.step and _may_share_day(problem, u.index, v.index)
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
                if u.step == v.step or not _may_share_day(problem, u.index, v.index):
                    continue
                ordered = (u.index, v.index) in fixed
                pair = either.get((u.index, v.index))
                first_u = ordered or (pair is not None and pair.forward.same_day_first())
                first_v = pair is not None and pair.backward.same_day_first()
                by_day: dict[int, list[tuple[_Option, cp_model.IntVar]]] = {}
                for option, literal in zip(self._options(v.index), choose[v.index], strict=True):
                    by_day.setdefault(option.day, []).append((option, literal))
                for a, a_literal in zip(self._options(u.index), choose[u.index], strict=True):
                    for b, b_literal in by_day.get(a.day, ()):
                        clash = slots_clash(a.slot, treatments.get(u.treatment), b.slot, treatments.get(v.treatment))
                        clash = clash or (first_u and b.slot.start < a.slot.end)
                        clash = clash or (first_v and a.slot.start < b.slot.end)
                        if clash:
                            self.model.add_bool_or([~a_literal, ~b_literal])


def _may_share_day(problem: _Problem, u: int, v: int) -> bool:
    links = [link for link in problem.links if (link.earlier, link.later) == (u, v)]
    if links:
        return all(link.days == 0 and link.minimum is None for link in links)
    pair = next((p for p in problem.either if (p.first, p.second) == (u, v)), None)
    if pair is None:
        return True
    return any(not m.rules or (m.in_days and m.gap()[0] == 0) for m in (pair.forward, pair.backward))


def _solver(request: PlanRequest, time_limit: float | None = None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = request.workers
    solver.parameters.max_time_in_seconds = time_limit or request.time_limit_s
    solver.parameters.random_seed = 0
    return solver


# --- Planning ------------------------------------------------------------------------------------------------------


SLACK_DAYS = 14  # the first solve looks this far past the earliest day the chain of minimums allows


@dataclass
class _Solved:
    built: _Built
    solver: cp_model.CpSolver
    optimal: bool
    cost: int
    chosen: dict[int, _Option]  # visit -> its option; optional visits left out are missing


def _solve(problem: _Problem, hint: _Solved | None = None) -> _Solved | None:
    built = _Builder(problem, explaining=False).build()
    if hint is not None:
        for visit, options in enumerate(problem.options):
            for option, literal in zip(options, built.choose[visit], strict=True):
                built.model.add_hint(literal, hint.chosen.get(visit) is option)
    solver = _solver(problem.request)
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
    problem = _prepare(request, candidates)
    template = request.template
    # A factor or a limit that rules out a step's treatment: a required step sinks the plan at once; an
    # optional one has no options, so it is left out.
    blocked = [c for step in template.steps if not step.optional for c in problem.blocked.get(step.treatment, [])]
    if blocked:
        return _infeasible(request, blocked, started)
    # The chain of minimums is a relaxation: where it overruns a deadline or the days searched, nothing fits.
    conflicts, problem.earliest = _chain(problem)
    if conflicts:
        return _infeasible(request, conflicts, started)
    problem.tails = _tails(problem)
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
        return _infeasible(request, _core(problem), started)

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


def _extract(problem: _Problem, solved: _Solved) -> list[PlannedVisit]:
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
    problem: _Problem,
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


# --- Why not: the chain of minimums, or the solver's smallest conflicting set -----------------------------------


def _tails(problem: _Problem) -> dict[int, int]:
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


def _chain(problem: _Problem) -> tuple[list[Conflict], dict[int, int]]:
    """Earliest days along the plan's fixed order (every visit that must happen): from each visit's first free,
    safe day, through the minimums that bind, snapped to the next free, safe day. A visit that lands past its
    deadline or past the last day searched is the conflict, with the chain of links that put it there.
    Otherwise the earliest day of each visit."""
    request = problem.request
    into: dict[int, list[_Link]] = {}
    for link in problem.links:
        into.setdefault(link.later, []).append(link)
    earliest: dict[int, int] = {}
    chains: dict[int, list[Conflict]] = {}  # visit -> the links that bring it to its earliest day
    for visit in (v for v in problem.visits if not v.optional):
        days = problem.steps[visit.step]
        first = days.first_from(problem.base)
        if first is None:
            return problem.blocked.get(visit.treatment) or days.why_none(), {}
        bound, chain = first, _release(request, visit.treatment, first, problem.base)
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


def _release(request: PlanRequest, treatment: str, first: int, searched_from: int) -> list[Conflict]:
    """Why a visit can be no earlier than `first`, its first free, safe day from `searched_from`: the history
    visit whose rule waits longest past the first day searched (then the diary, if it adds days), or the diary."""
    extension, chosen = _extension(request), None
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


def _core(problem: _Problem) -> list[Conflict]:
    """No chain overruns, so the conflict lies in either-order pairs or same-day clashes: ask the solver which
    rules cannot hold together, then drop each one the conflict does not need (a minimal set, not a guess)."""
    problem.scope(deadlines=False)
    built = _Builder(problem, explaining=True).build()
    names = list(built.uses)

    def infeasible(rules: Iterable[str]) -> bool:
        model = built.model.clone()
        kept = set(rules)
        for rule_id in names:
            model.add(built.uses[rule_id] == (1 if rule_id in kept else 0))
        return _solver(problem.request, time_limit=2.0).solve(model) == cp_model.INFEASIBLE

    clash = Conflict("no-free-slot", "the free slots cannot hold every visit of the plan without a clash")
    if infeasible(()) or not infeasible(names):
        return [clash]  # availability alone, or the solver ran out of time: say only what is certain
    needed = list(names)
    for rule_id in list(needed):
        if infeasible(r for r in needed if r != rule_id):
            needed.remove(rule_id)
    return [_rule_conflict(problem, rule_id) for rule_id in needed]


def _rule_conflict(problem: _Problem, rule_id: str) -> Conflict:
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
