"""Plan templates: the knowledge base's plans (knowledge/data/plans.yaml) as values: the steps, the spacing
between their sessions and from the previous step, the event rules, the recall."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from safewindow.domain.rules import Evidence
from safewindow.domain.spans import Span


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
