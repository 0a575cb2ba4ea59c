"""The shape of plans.yaml, validated with Pydantic: plan templates, the event rules they name and the recalls.
Whether the treatments, rules and ids it names exist is the loader's to check, against the knowledge base."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from safewindow.knowledge.schema import EvidenceLevel, Slug, Strict

Days = Annotated[int, Field(ge=0, le=730)]


class SpacingFile(Strict):
    min: Days = 0
    ideal: tuple[Days, Days] | None = None
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self) -> SpacingFile:
        if self.ideal is not None and not self.min <= self.ideal[0] <= self.ideal[1]:
            raise ValueError("spacing needs min <= ideal start <= ideal end")
        return self


class StepFile(Strict):
    treatment: Slug
    count: int = Field(default=1, ge=1, le=12)
    between: SpacingFile | None = None
    after_previous: SpacingFile | None = None
    optional: bool = False

    @model_validator(mode="after")
    def _between_needs_sessions(self) -> StepFile:
        if self.between is not None and self.count < 2:
            raise ValueError("`between` spaces a step's own sessions, so it needs count >= 2")
        return self


class EventRuleFile(Strict):
    id: Slug
    treatments: list[Slug] = Field(min_length=1)
    days_before: int = Field(ge=0, le=365)
    rationale: str = Field(min_length=10)
    evidence: EvidenceLevel
    source: str = Field(min_length=3)


class RecallFile(Strict):
    id: Slug
    treatment: Slug
    rule: Slug = Field(description="the catalogue's repeat rule; its ideal window is when the recall is due")
    rationale: str = Field(min_length=10)
    source: str = Field(min_length=3)


class PlanFile(Strict):
    slug: Slug
    name: str = Field(min_length=3)
    goal: str = Field(min_length=10)
    needs_event: bool
    steps: list[StepFile] = Field(min_length=1, max_length=12)
    event_rules: list[Slug] = Field(default_factory=list)
    recall: Slug | None = None

    @model_validator(mode="after")
    def _shape(self) -> PlanFile:
        if self.steps[0].after_previous is not None:
            raise ValueError("the first step has no previous step: drop its after_previous")
        if all(step.optional for step in self.steps):
            raise ValueError("a plan needs at least one step that is not optional")
        return self


class PlansFile(Strict):
    event_rules: list[EventRuleFile] = Field(default_factory=list)
    recalls: list[RecallFile] = Field(default_factory=list)
    plans: list[PlanFile] = Field(min_length=1)
