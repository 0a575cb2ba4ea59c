"""Timing rules between visits: interval rules (both orders), repeat limits, and what kind of block each is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from safewindow.domain.spans import Span


class Kind(StrEnum):
    HARD = "hard"  # no override
    SOFT = "soft"  # a qualified practitioner may override with a written reason


class Evidence(StrEnum):
    """Strongest first. Always shown beside a rule so nothing sounds surer than its source."""

    LABEL = "label"
    CONSENSUS = "consensus"
    REVIEW = "review"
    PRACTICE = "practice"


class Scope(StrEnum):
    AREA = "area"  # only between visits to the same area (default: face)
    PATIENT = "patient"  # whatever the area, e.g. toxin antibody risk is systemic


class SameDay(StrEnum):
    EITHER = "either"  # both on one day, in either order
    EARLIER_FIRST = "earlier-first"  # both on one day, the rule's `after` treatment first


@dataclass(frozen=True, slots=True)
class IntervalRule:
    """From a visit of `after` to a later visit of `before` in the same area: at least `minimum`,
    ideally within `ideal`, and past `maximum` the second visit loses its point (warn, never block)."""

    id: str
    after: frozenset[str]
    before: frozenset[str]
    minimum: Span
    ideal: tuple[Span, Span] | None
    maximum: Span | None
    kind: Kind
    scope: Scope
    skin_recovery: bool  # lengthened by factors such as sensitive skin or slow healing
    same_day: SameDay | None
    rationale: str
    evidence: Evidence
    source: str


@dataclass(frozen=True, slots=True)
class SessionLimit:
    """At most `max_sessions` visits of `treatment`, counted over the whole history or since the last `since`."""

    id: str
    treatment: str
    max_sessions: int
    since: str | None
    kind: Kind
    rationale: str
    evidence: Evidence
    source: str
