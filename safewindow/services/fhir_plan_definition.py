"""safewindow's timing rules between treatments as one FHIR PlanDefinition (a clinical protocol).

Built with the R4B models (see fhir_values)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.plandefinition import PlanDefinition, PlanDefinitionAction, PlanDefinitionActionRelatedAction
from fhir.resources.R4B.range import Range

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule
from safewindow.domain.spans import Span
from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.fhir_values import CANONICAL, IDEAL_WINDOW_URL, TIMING_RULE_URL, treatment_concept

PLAN_DEFINITION_ID = "timing-rules"
PLAN_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
UCUM = "http://unitsofmeasure.org"


def _duration(span: Span) -> dict[str, Any]:
    """A UCUM duration, as the fields of a Quantity or Duration (whichever element takes it)."""
    # The loader makes a span of days or of months, never both; a mix would have no one UCUM unit.
    if span.months and span.days:
        raise ValueError(f"{span} mixes months and days")
    if span.months:
        return {"value": span.months, "unit": "month" if span.months == 1 else "months", "system": UCUM, "code": "mo"}
    return {"value": span.days, "unit": "day" if span.days == 1 else "days", "system": UCUM, "code": "d"}


def _rule_extensions(rule: IntervalRule) -> list[Extension]:
    details = [
        Extension(url="id", valueString=rule.id),
        Extension(url="kind", valueCode=str(rule.kind)),
        Extension(url="scope", valueCode=str(rule.scope)),
        Extension(url="evidence", valueCode=str(rule.evidence)),
        Extension(url="source", valueString=rule.source),
        Extension(url="rationale", valueString=rule.rationale),
    ]
    if rule.maximum is not None:
        details.append(Extension(url="maximum", valueDuration=_duration(rule.maximum)))
    if rule.same_day is not None:
        details.append(Extension(url="same-day", valueCode=str(rule.same_day)))
    extensions = [Extension(url=TIMING_RULE_URL, extension=details)]
    if rule.ideal is not None:
        low, high = rule.ideal
        extensions.append(Extension(url=IDEAL_WINDOW_URL, valueRange=Range(low=_duration(low), high=_duration(high))))
    return extensions


def plan_definition(kb: KnowledgeBase, base: str) -> PlanDefinition:
    """The interval rules as one protocol: an action per treatment; on the later treatment's action, a related
    action per rule, `after-start` of the earlier one with the minimum as `offsetRange.low`, the ideal window
    in an extension (ideal-window) and the rule's id, kind, evidence, source and maximum in another."""
    related: dict[str, list[PlanDefinitionActionRelatedAction]] = {}
    for rule in kb.rules:
        for later in sorted(rule.before):
            for earlier in sorted(rule.after):
                related.setdefault(earlier, [])
                related.setdefault(later, []).append(
                    PlanDefinitionActionRelatedAction(
                        actionId=earlier,
                        relationship="after-start",
                        offsetRange=Range(low=_duration(rule.minimum)),
                        extension=_rule_extensions(rule),
                    )
                )
    actions = [
        PlanDefinitionAction(
            id=slug,
            title=kb.treatments[slug].name if slug in kb.treatments else slug,
            code=[treatment_concept(kb, slug)],
            relatedAction=related[slug] or None,
        )
        for slug in sorted(related)
    ]
    return PlanDefinition(
        id=PLAN_DEFINITION_ID,
        url=f"{CANONICAL}/PlanDefinition/{PLAN_DEFINITION_ID}",
        version=kb.version,
        name="SafewindowTimingRules",
        title="Timing rules between aesthetic treatments",
        type=CodeableConcept(coding=[Coding(system=PLAN_TYPE_SYSTEM, code="clinical-protocol")]),
        status="active",
        publisher="safewindow",
        description=(
            "How long after one treatment another may follow, in the same area unless the rule's scope says "
            f"patient: at least the minimum, ideally within the ideal window. {FINAL_WORD} Served at {base}."
        ),
        action=actions or None,
    )
