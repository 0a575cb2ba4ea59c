"""The API's response shapes, for the OpenAPI document. Routes return the domain's own dictionaries
(`Advice.as_dict()`, the CLI's JSON rows) unchanged; these models describe them exactly, which the tests and
schemathesis check. Every model forbids extra keys, so the schema says `additionalProperties: false`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from safewindow.domain.advice import Severity, Verdict
from safewindow.domain.factors import Effect
from safewindow.domain.rules import Evidence, Kind, SameDay, Scope
from safewindow.domain.treatments import Prescriber


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldProblem(Shape):
    field: str = Field(description="The query parameter or form field at fault, e.g. history.")
    problem: str = Field(description="What is wrong with it, in plain words.")


class Problems(Shape):
    detail: list[FieldProblem]


class ReasonOut(Shape):
    rule: str = Field(description="The rule, factor or limit id in the knowledge base.")
    kind: Kind = Field(description="hard: no override; soft: a qualified practitioner may override with a reason.")
    severity: Severity
    message: str
    evidence: Evidence
    source: str


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class AdviceOut(Shape):
    """`safewindow when --json`: the contract every interface returns."""

    treatment: str
    allowed: bool = Field(description="False when a factor or a session limit blocks the treatment outright.")
    earliest: date | None = Field(description="From the rules alone; may lie in the past.")
    earliest_bookable: date | None = Field(description="The first allowed day from the clinic's today.")
    ideal_start: date | None
    ideal_end: date | None
    # Present only when a date was proposed (`on`), and then never null.
    verdict: Verdict | SkipJsonSchema[None] = Field(
        default=None, description="Only with `on`: the proposed date's verdict.", json_schema_extra=_no_default
    )
    reasons: list[ReasonOut]


class TreatmentRow(Shape):
    slug: str
    name: str
    category: str
    breaks_skin: bool
    injection: bool
    prescriber: Prescriber
    duration_minutes: int


class FactorEffectRow(Shape):
    effect: Effect
    treatments: list[str]
    days: int
    message: str
    evidence: Evidence
    source: str


class FactorRow(Shape):
    id: str
    name: str
    question: str
    disagreement: str | None
    effects: list[FactorEffectRow]


class IntervalRuleRow(Shape):
    id: str
    type: Literal["interval"]
    after: list[str]
    before: list[str]
    min: str
    ideal: Annotated[list[str], Field(min_length=2, max_length=2)] | None
    max: str | None
    kind: Kind
    scope: Scope
    skin_recovery: bool
    same_day: SameDay | None
    rationale: str
    evidence: Evidence
    source: str


class SessionLimitRow(Shape):
    id: str
    type: Literal["limit"]
    treatment: str
    max_sessions: int
    since: str | None
    kind: Kind
    rationale: str
    evidence: Evidence
    source: str


class RulesOut(Shape):
    version: str
    rules: list[Annotated[IntervalRuleRow | SessionLimitRow, Field(discriminator="type")]]


class ArticleSummary(Shape):
    slug: str
    title: str
    summary: str
    treatments: list[str]
    sources: list[str]


class ArticleOut(ArticleSummary):
    body: str = Field(description="The article in Markdown.")


class Ping(Shape):
    ok: Literal[True]
