"""What a plan is asked for and what it answers: the patient's preferences, the weights the solver trades off,
the request, and the result (the planned visits, or the conflicts that stand in the way)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from safewindow.domain.advice import find_factor, find_treatment
from safewindow.domain.availability import OfferedTreatment
from safewindow.domain.history import DEFAULT_AREA, PastVisit
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_templates import PlanStep, PlanTemplate
from safewindow.domain.slots import Fit, Slot

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
