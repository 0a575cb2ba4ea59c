"""A small knowledge base built in code, so the advisor's algorithm is tested apart from the shipped data."""

from __future__ import annotations

from safewindow.domain.factors import Effect, Factor, FactorEffect
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import Evidence, IntervalRule, Kind, SameDay, Scope, SessionLimit
from safewindow.domain.spans import Span
from safewindow.domain.treatments import Aftercare, AftercareStep, Prescriber, Treatment


def treatment(slug: str, category: str = "misc") -> Treatment:
    care = Aftercare((AftercareStep(0, 1, "settles"),), ("call the clinic",), "test")
    return Treatment(slug, slug.title(), category, True, False, Prescriber.NONE, 30, "test", care)


def rule(
    rule_id: str,
    after: str,
    before: str,
    minimum: Span | int,
    ideal: tuple[int | Span, int | Span] | None = None,
    maximum: int | None = None,
    kind: Kind = Kind.SOFT,
    scope: Scope = Scope.AREA,
    skin_recovery: bool = False,
    same_day: SameDay | None = None,
) -> IntervalRule:
    def span(value: int | Span) -> Span:
        return value if isinstance(value, Span) else Span(days=value)

    return IntervalRule(
        rule_id,
        frozenset(after.split(",")),
        frozenset(before.split(",")),
        span(minimum),
        (span(ideal[0]), span(ideal[1])) if ideal else None,
        span(maximum) if maximum is not None else None,
        kind,
        scope,
        skin_recovery,
        same_day,
        "because the test says so",
        Evidence.PRACTICE,
        "test source",
    )


def effect(kind: Effect, treatments: str = "", days: int = 0) -> FactorEffect:
    return FactorEffect(
        frozenset(filter(None, treatments.split(","))),
        kind,
        f"{kind} effect",
        Evidence.LABEL,
        "test label",
        days,
    )


def small_kb() -> KnowledgeBase:
    slugs = ["needling", "toxin", "filler", "device", "peel", "series", "monthly", "touchup"]
    rules = (
        rule("needling-then-toxin", "needling", "toxin", 14, (14, 28), skin_recovery=True),
        rule("toxin-then-needling", "toxin", "needling", 14, (14, 28)),
        rule("toxin-then-filler", "toxin", "filler", 0, (0, 14), same_day=SameDay.EITHER),
        rule("filler-then-toxin", "filler", "toxin", 0, (0, 14), same_day=SameDay.EITHER),
        rule("device-then-toxin", "device", "toxin", 0, (0, 14), same_day=SameDay.EARLIER_FIRST),
        rule("filler-then-peel", "filler", "peel", 7, (14, 28)),
        rule("toxin-repeat", "toxin", "toxin", 90, (90, 120), kind=Kind.HARD, scope=Scope.PATIENT),
        rule("toxin-then-touchup", "toxin", "touchup", 14, (14, 28), maximum=28),
        rule("series-repeat", "series", "series", 28, (28, 42), skin_recovery=True),
        rule(
            "monthly-repeat",
            "monthly",
            "monthly",
            Span(months=1),
            (Span(months=1), Span(months=2)),
            kind=Kind.HARD,
        ),
    )
    limits = (
        SessionLimit("monthly-course", "monthly", 3, None, Kind.HARD, "at most three sessions", Evidence.LABEL, "t"),
        SessionLimit(
            "touchup-once",
            "touchup",
            1,
            "toxin",
            Kind.SOFT,
            "one touch-up per treatment",
            Evidence.PRACTICE,
            "t",
        ),
    )
    factors = {
        "pregnant": Factor(
            "pregnant",
            "Pregnant",
            "Are you pregnant?",
            (effect(Effect.BLOCK_HARD, "toxin,filler"), effect(Effect.BLOCK_SOFT, "peel")),
        ),
        "thinners": Factor(
            "thinners",
            "Blood thinners",
            "Do you take blood thinners?",
            (effect(Effect.WARN, "toxin,filler"),),
        ),
        "slow": Factor("slow", "Slow healing", "Do you heal slowly?", (effect(Effect.LENGTHEN, days=7),)),
        "sensitive": Factor(
            "sensitive", "Sensitive skin", "Is your skin sensitive?", (effect(Effect.LENGTHEN, days=5),)
        ),
    }
    return KnowledgeBase("test", {s: treatment(s) for s in slugs}, rules, limits, factors)
