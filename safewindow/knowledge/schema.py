"""The shape of the knowledge-base files, validated with Pydantic. A broken file fails naming the file,
the item id and the field. Names in `after`, `before` and `treatments` are treatment slugs or categories."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safewindow.domain.spans import Span

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
EvidenceLevel = Literal["label", "consensus", "review", "practice"]
SpanText = int | str


def _span(value: SpanText) -> SpanText:
    Span.parse(value)  # raises ValueError naming the text
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AftercareStepFile(Strict):
    days: tuple[int, int] = Field(description="first and last day after the visit, day 0 = visit day")
    expect: str
    do: list[str] = []
    avoid: list[str] = []

    @model_validator(mode="after")
    def _ordered(self) -> AftercareStepFile:
        if not 0 <= self.days[0] <= self.days[1]:
            raise ValueError("days must be [first, last] with 0 <= first <= last")
        return self


class AftercareFile(Strict):
    steps: list[AftercareStepFile] = Field(min_length=1)
    warning_signs: list[str] = Field(min_length=1)
    source: str = Field(min_length=3)


class TreatmentFile(Strict):
    slug: Slug
    name: str
    category: Slug
    breaks_skin: bool
    injection: bool
    prescriber: Literal["none", "clinic-policy", "authorized-prescriber", "physician"]
    duration_minutes: int = Field(gt=0, le=480)
    summary: str
    aftercare: AftercareFile


class TreatmentsFile(Strict):
    treatments: list[TreatmentFile] = Field(min_length=1)


class IntervalRuleFile(Strict):
    id: Slug
    after: list[Slug] = Field(min_length=1)
    before: list[Slug] = Field(min_length=1)
    min: SpanText
    ideal: tuple[SpanText, SpanText] | None = None
    max: SpanText | None = None
    kind: Literal["hard", "soft"]
    scope: Literal["area", "patient"] = "area"
    skin_recovery: bool = False
    same_day: Literal["either", "earlier-first"] | None = None
    rationale: str = Field(min_length=10)
    evidence: EvidenceLevel
    source: str = Field(min_length=3)

    @field_validator("min", "max")
    @classmethod
    def _spans(cls, value: SpanText | None) -> SpanText | None:
        return value if value is None else _span(value)

    @field_validator("ideal")
    @classmethod
    def _ideal(cls, value: tuple[SpanText, SpanText] | None) -> tuple[SpanText, SpanText] | None:
        if value is not None:
            _span(value[0])
            _span(value[1])
        return value


class SessionLimitFile(Strict):
    id: Slug
    treatment: Slug
    max_sessions: int = Field(gt=0)
    since: Slug | None = None
    kind: Literal["hard", "soft"]
    rationale: str = Field(min_length=10)
    evidence: EvidenceLevel
    source: str = Field(min_length=3)


class RulesFile(Strict):
    rules: list[IntervalRuleFile] = Field(min_length=1)
    limits: list[SessionLimitFile] = []


class FactorEffectFile(Strict):
    effect: Literal["block-hard", "block-soft", "warn", "lengthen"]
    treatments: list[Slug] = []
    days: int = Field(default=0, ge=0, le=90)
    message: str = Field(min_length=10)
    evidence: EvidenceLevel
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _shape(self) -> FactorEffectFile:
        if self.effect == "lengthen":
            if self.days <= 0 or self.treatments:
                raise ValueError("a lengthen effect has days > 0 and no treatments (it acts on skin recovery)")
        elif not self.treatments:
            raise ValueError(f"a {self.effect} effect names its treatments")
        return self


class FactorFile(Strict):
    id: Slug
    name: str
    question: str = Field(min_length=10)
    effects: list[FactorEffectFile] = Field(min_length=1)
    disagreement: str | None = None


class FactorsFile(Strict):
    factors: list[FactorFile] = Field(min_length=1)


class ManifestFile(Strict):
    version: str
    changes: list[str] = []


class ArticleFrontMatter(Strict):
    title: str
    summary: str
    treatments: list[Slug] = []
    sources: list[str] = Field(min_length=1)
