"""Reads plans.yaml, validates it against the knowledge base, and builds the domain's plan templates.

A broken file fails with one KnowledgeError naming the file, the template (or event rule, or recall) and the
field: every treatment must be a knowledge-base slug, a recall's rule a repeat rule of that treatment with an
ideal window, and a plan that needs an event must say how long before it each of its treatments is done."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.plan_templates import EventRule, PlanStep, PlanTemplate, Recall, Spacing
from safewindow.domain.rules import Evidence, IntervalRule
from safewindow.knowledge import plan_schema as schema
from safewindow.knowledge.loader import DATA_DIR, KnowledgeError, default_knowledge_base, read_file

PLANS_FILE = DATA_DIR / "plans.yaml"
LISTS = ("plans", "event_rules", "recalls")


@dataclass(frozen=True, slots=True)
class PlanCatalogue:
    templates: dict[str, PlanTemplate]
    recalls: tuple[Recall, ...]

    def template(self, slug: str) -> PlanTemplate:
        return self.templates[slug]


def _unique(ids: Iterable[str], file: Path, what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise KnowledgeError(file, item, what, "used twice")
        seen.add(item)


def _known(kb: KnowledgeBase, slug: str, file: Path, item: str, field: str) -> str:
    if slug not in kb.treatments:
        raise KnowledgeError(file, item, field, f"{slug!r} is not a treatment in the knowledge base")
    return slug


def _spacing(entry: schema.SpacingFile | None) -> Spacing | None:
    return None if entry is None else Spacing(entry.min, entry.ideal, entry.source)


def _recall(entry: schema.RecallFile, kb: KnowledgeBase, file: Path) -> Recall:
    _known(kb, entry.treatment, file, entry.id, "treatment")
    rule = next((r for r in kb.rules if r.id == entry.rule), None)
    if not isinstance(rule, IntervalRule):
        raise KnowledgeError(file, entry.id, "rule", f"{entry.rule!r} is not an interval rule in rules.yaml")
    if entry.treatment not in rule.after or entry.treatment not in rule.before or rule.ideal is None:
        raise KnowledgeError(
            file, entry.id, "rule", f"{entry.rule!r} is not a repeat rule of {entry.treatment} with an ideal window"
        )
    return Recall(entry.id, entry.treatment, rule.id, rule.ideal, entry.rationale, entry.source)


def _template(
    entry: schema.PlanFile,
    kb: KnowledgeBase,
    events: dict[str, EventRule],
    recalls: dict[str, Recall],
    file: Path,
) -> PlanTemplate:
    steps = tuple(
        PlanStep(
            _known(kb, step.treatment, file, entry.slug, f"steps.{index}.treatment"),
            step.count,
            _spacing(step.between),
            _spacing(step.after_previous),
            step.optional,
        )
        for index, step in enumerate(entry.steps)
    )
    rules = []
    for index, rule_id in enumerate(entry.event_rules):
        if rule_id not in events:
            raise KnowledgeError(file, entry.slug, f"event_rules.{index}", f"no event rule {rule_id!r}")
        rules.append(events[rule_id])
    if entry.needs_event:
        covered = {slug for rule in rules for slug in rule.treatments}
        for index, step in enumerate(steps):
            if step.treatment not in covered:
                raise KnowledgeError(
                    file,
                    entry.slug,
                    f"steps.{index}.treatment",
                    f"the plan needs an event, but no event rule says when {step.treatment} must be done before it",
                )
    if entry.recall is not None and entry.recall not in recalls:
        raise KnowledgeError(file, entry.slug, "recall", f"no recall {entry.recall!r}")
    recall = recalls[entry.recall] if entry.recall is not None else None
    return PlanTemplate(entry.slug, entry.name, entry.goal, entry.needs_event, steps, tuple(rules), recall)


def load_plans(kb: KnowledgeBase, file: Path = PLANS_FILE) -> PlanCatalogue:
    data = read_file(file, schema.PlansFile, LISTS)
    _unique((rule.id for rule in data.event_rules), file, "id")
    _unique((recall.id for recall in data.recalls), file, "id")
    _unique((plan.slug for plan in data.plans), file, "slug")
    events = {
        rule.id: EventRule(
            rule.id,
            frozenset(_known(kb, slug, file, rule.id, "treatments") for slug in rule.treatments),
            rule.days_before,
            rule.rationale,
            Evidence(rule.evidence),
            rule.source,
        )
        for rule in data.event_rules
    }
    recalls = {recall.id: _recall(recall, kb, file) for recall in data.recalls}
    templates = {plan.slug: _template(plan, kb, events, recalls, file) for plan in data.plans}
    return PlanCatalogue(templates, tuple(recalls.values()))


@lru_cache(maxsize=1)
def default_plans() -> PlanCatalogue:
    """The shipped templates, validated against the shipped knowledge base once per process."""
    return load_plans(default_knowledge_base())
