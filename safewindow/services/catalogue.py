"""The knowledge base as rows: the same JSON from the CLI (`treatments --json`, ...) and the API."""

from __future__ import annotations

from typing import Any

from safewindow.domain.factors import Factor
from safewindow.domain.injection_map import InjectionMaps
from safewindow.domain.rules import IntervalRule, SessionLimit
from safewindow.domain.treatments import Treatment

# Every answer about timing ends with this: the system supports a decision, a qualified practitioner makes it.
FINAL_WORD = "A qualified practitioner makes the final decision."


def treatment_row(treatment: Treatment) -> dict[str, Any]:
    return {
        "slug": treatment.slug,
        "name": treatment.name,
        "category": treatment.category,
        "breaks_skin": treatment.breaks_skin,
        "injection": treatment.injection,
        "prescriber": str(treatment.prescriber),
        "duration_minutes": treatment.duration_minutes,
    }


def factor_row(factor: Factor) -> dict[str, Any]:
    return {
        "id": factor.id,
        "name": factor.name,
        "question": factor.question,
        "disagreement": factor.disagreement,
        "effects": [
            {
                "effect": str(effect.effect),
                "treatments": sorted(effect.treatments),
                "days": effect.days,
                "message": effect.message,
                "evidence": str(effect.evidence),
                "source": effect.source,
            }
            for effect in factor.effects
        ],
    }


def rule_as_dict(rule: IntervalRule | SessionLimit) -> dict[str, object]:
    if isinstance(rule, SessionLimit):
        return {
            "id": rule.id,
            "type": "limit",
            "treatment": rule.treatment,
            "max_sessions": rule.max_sessions,
            "since": rule.since,
            "kind": str(rule.kind),
            "rationale": rule.rationale,
            "evidence": str(rule.evidence),
            "source": rule.source,
        }
    return {
        "id": rule.id,
        "type": "interval",
        "after": sorted(rule.after),
        "before": sorted(rule.before),
        "min": str(rule.minimum),
        "ideal": [str(s) for s in rule.ideal] if rule.ideal else None,
        "max": str(rule.maximum) if rule.maximum else None,
        "kind": str(rule.kind),
        "scope": str(rule.scope),
        "skin_recovery": rule.skin_recovery,
        "same_day": str(rule.same_day) if rule.same_day else None,
        "rationale": rule.rationale,
        "evidence": str(rule.evidence),
        "source": rule.source,
    }


def injection_sites(maps: InjectionMaps, treatment: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every measure and site of the injection map, or a treatment's (none when it is not injected)."""
    category = None if treatment is None else maps.categories.get(treatment)
    measures = [(c, m) for c, m in maps.measures.items() if treatment is None or c == category]
    sites = maps.sites.values() if treatment is None else maps.sites_for(treatment)
    return {
        "measures": [
            {
                "category": c,
                "unit": m.unit,
                "most_per_site": float(m.most_per_site),
                "treatments": [slug for slug, of in maps.categories.items() if of == c],
            }
            for c, m in measures
        ],
        "sites": [{"id": s.id, "name": s.name, "x": s.x, "y": s.y, "categories": sorted(s.categories)} for s in sites],
    }
