"""The whole knowledge base as one immutable value, indexed for the advisor's hot path."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from safewindow.domain.factors import Effect, Factor, FactorEffect
from safewindow.domain.rules import IntervalRule, SessionLimit
from safewindow.domain.treatments import Treatment


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    treatments: tuple[str, ...]
    sources: tuple[str, ...]
    body: str  # Markdown, our words


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    treatments: dict[str, Treatment]
    rules: tuple[IntervalRule, ...]
    limits: tuple[SessionLimit, ...]
    factors: dict[str, Factor]
    articles: dict[str, Article] = field(default_factory=dict)
    # Indexes, derived once: (earlier treatment, later treatment) -> rules; (factor, treatment) -> effects.
    pair_rules: dict[tuple[str, str], tuple[IntervalRule, ...]] = field(init=False, repr=False)
    limits_for: dict[str, tuple[SessionLimit, ...]] = field(init=False, repr=False)
    effects_for: dict[tuple[str, str], tuple[FactorEffect, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pairs: defaultdict[tuple[str, str], list[IntervalRule]] = defaultdict(list)
        for rule in self.rules:
            for earlier in rule.after:
                for later in rule.before:
                    pairs[earlier, later].append(rule)
        limits: defaultdict[str, list[SessionLimit]] = defaultdict(list)
        for limit in self.limits:
            limits[limit.treatment].append(limit)
        effects: defaultdict[tuple[str, str], list[FactorEffect]] = defaultdict(list)
        for factor in self.factors.values():
            for effect in factor.effects:
                if effect.effect is not Effect.LENGTHEN:
                    for slug in effect.treatments:
                        effects[factor.id, slug].append(effect)
        object.__setattr__(self, "pair_rules", {k: tuple(v) for k, v in pairs.items()})
        object.__setattr__(self, "limits_for", {k: tuple(v) for k, v in limits.items()})
        object.__setattr__(self, "effects_for", {k: tuple(v) for k, v in effects.items()})

    def all_rules(self) -> tuple[IntervalRule | SessionLimit, ...]:
        return (*self.rules, *self.limits)

    def rule(self, rule_id: str) -> IntervalRule | SessionLimit:
        for rule in self.all_rules():
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
