"""The treatments a clinic offers, as the knowledge base describes them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Prescriber(StrEnum):
    """Who must order the treatment. Which professions may do that is data (qualifications), not code."""

    NONE = "none"
    CLINIC_POLICY = "clinic-policy"
    AUTHORIZED = "authorized-prescriber"
    PHYSICIAN = "physician"


@dataclass(frozen=True, slots=True)
class AftercareStep:
    """What to do, avoid and expect from day `first_day` to `last_day` after the visit (day 0 = visit day)."""

    first_day: int
    last_day: int
    expect: str
    do: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Aftercare:
    steps: tuple[AftercareStep, ...]
    warning_signs: tuple[str, ...]
    source: str

    def for_day(self, day: int) -> tuple[AftercareStep, ...]:
        return tuple(step for step in self.steps if step.first_day <= day <= step.last_day)


@dataclass(frozen=True, slots=True)
class Treatment:
    slug: str
    name: str
    category: str
    breaks_skin: bool
    injection: bool
    prescriber: Prescriber
    duration_minutes: int
    summary: str
    aftercare: Aftercare
