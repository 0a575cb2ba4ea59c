"""Personal factors and contraindications, and what each does to which treatment."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from safewindow.domain.rules import Evidence


class Effect(StrEnum):
    BLOCK_HARD = "block-hard"
    BLOCK_SOFT = "block-soft"
    WARN = "warn"
    LENGTHEN = "lengthen"  # skin-recovery minimums grow by `days`


@dataclass(frozen=True, slots=True)
class FactorEffect:
    treatments: frozenset[str]  # empty for LENGTHEN: it acts on skin-recovery rules, whatever the treatment
    effect: Effect
    message: str
    evidence: Evidence
    source: str
    days: int = 0


@dataclass(frozen=True, slots=True)
class Factor:
    id: str
    name: str
    question: str
    effects: tuple[FactorEffect, ...]
    disagreement: str | None = None  # sources that disagree, said plainly
    lengthen_days: int = field(init=False)  # derived once: the advisor reads it on every call

    def __post_init__(self) -> None:
        days = max((e.days for e in self.effects if e.effect is Effect.LENGTHEN), default=0)
        object.__setattr__(self, "lengthen_days", days)
