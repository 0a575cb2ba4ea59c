"""Reads the knowledge-base files, validates them, and builds the domain's KnowledgeBase.

A broken file fails with one KnowledgeError naming the file, the item id and the field."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from safewindow.domain.factors import Effect, Factor, FactorEffect
from safewindow.domain.knowledge_base import Article, KnowledgeBase
from safewindow.domain.rules import Evidence, IntervalRule, Kind, SameDay, Scope, SessionLimit
from safewindow.domain.spans import Span
from safewindow.domain.treatments import Aftercare, AftercareStep, Prescriber, Treatment
from safewindow.knowledge import schema

DATA_DIR = Path(__file__).parent / "data"
Model = TypeVar("Model", bound=BaseModel)


class KnowledgeError(ValueError):
    def __init__(self, file: Path, item: str | None, field: str | None, problem: str) -> None:
        self.file, self.item, self.field, self.problem = file, item, field, problem
        where = f"{file.name}" + (f", {item}" if item else "") + (f", field {field}" if field else "")
        super().__init__(f"{where}: {problem}")


def read_file(path: Path, model: type[Model], lists: tuple[str, ...] = ()) -> Model:
    """A YAML file validated as `model`. An error in an entry of one of the `lists` names that entry by its
    id (or slug, or category) and the field within it."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeError(path, None, None, "file is missing") from None
    except yaml.YAMLError as error:
        raise KnowledgeError(path, None, None, f"not valid YAML: {error}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = list(first["loc"])
        item = None
        if len(location) >= 2 and location[0] in lists and isinstance(location[1], int):
            entries = (raw or {}).get(location[0]) or []
            entry = entries[location[1]] if location[1] < len(entries) else {}
            item = str(
                entry.get("id") or entry.get("slug") or entry.get("category") or f"{location[0]} item {location[1] + 1}"
            )
            location = location[2:]
        field = ".".join(str(part) for part in location) or None
        raise KnowledgeError(path, item, field, first["msg"]) from None


class _Names:
    """Resolves the names a rule or factor uses: a treatment slug, or a category meaning all its treatments."""

    def __init__(self, treatments: Iterable[Treatment]) -> None:
        self.by_category: dict[str, set[str]] = {}
        self.slugs: set[str] = set()
        for treatment in treatments:
            self.slugs.add(treatment.slug)
            self.by_category.setdefault(treatment.category, set()).add(treatment.slug)

    def resolve(self, names: Iterable[str], file: Path, item: str, field: str) -> frozenset[str]:
        resolved: set[str] = set()
        for name in names:
            if name in self.slugs:
                resolved.add(name)
            elif name in self.by_category:
                resolved |= self.by_category[name]
            else:
                raise KnowledgeError(file, item, field, f"{name!r} is neither a treatment slug nor a category")
        return frozenset(resolved)


def _treatment(entry: schema.TreatmentFile) -> Treatment:
    aftercare = Aftercare(
        steps=tuple(
            AftercareStep(step.days[0], step.days[1], step.expect, tuple(step.do), tuple(step.avoid))
            for step in entry.aftercare.steps
        ),
        warning_signs=tuple(entry.aftercare.warning_signs),
        source=entry.aftercare.source,
    )
    return Treatment(
        slug=entry.slug,
        name=entry.name,
        category=entry.category,
        breaks_skin=entry.breaks_skin,
        injection=entry.injection,
        prescriber=Prescriber(entry.prescriber),
        duration_minutes=entry.duration_minutes,
        summary=entry.summary,
        aftercare=aftercare,
    )


def _rule(entry: schema.IntervalRuleFile, names: _Names, file: Path) -> IntervalRule:
    return IntervalRule(
        id=entry.id,
        after=names.resolve(entry.after, file, entry.id, "after"),
        before=names.resolve(entry.before, file, entry.id, "before"),
        minimum=Span.parse(entry.min),
        ideal=(Span.parse(entry.ideal[0]), Span.parse(entry.ideal[1])) if entry.ideal else None,
        maximum=Span.parse(entry.max) if entry.max is not None else None,
        kind=Kind(entry.kind),
        scope=Scope(entry.scope),
        skin_recovery=entry.skin_recovery,
        same_day=SameDay(entry.same_day) if entry.same_day else None,
        rationale=entry.rationale,
        evidence=Evidence(entry.evidence),
        source=entry.source,
    )


def _limit(entry: schema.SessionLimitFile, names: _Names, file: Path) -> SessionLimit:
    names.resolve([entry.treatment], file, entry.id, "treatment")
    if entry.since is not None:
        names.resolve([entry.since], file, entry.id, "since")
    return SessionLimit(
        id=entry.id,
        treatment=entry.treatment,
        max_sessions=entry.max_sessions,
        since=entry.since,
        kind=Kind(entry.kind),
        rationale=entry.rationale,
        evidence=Evidence(entry.evidence),
        source=entry.source,
    )


def _factor(entry: schema.FactorFile, names: _Names, file: Path) -> Factor:
    effects = tuple(
        FactorEffect(
            treatments=names.resolve(effect.treatments, file, entry.id, f"effects.{index}.treatments"),
            effect=Effect(effect.effect),
            message=effect.message,
            evidence=Evidence(effect.evidence),
            source=effect.source,
            days=effect.days,
        )
        for index, effect in enumerate(entry.effects)
    )
    return Factor(entry.id, entry.name, entry.question, effects, entry.disagreement)


def _article(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise KnowledgeError(path, path.stem, None, "an article starts with front matter between '---' lines")
    _, front, body = text.split("---", 2)
    try:
        meta = schema.ArticleFrontMatter.model_validate(yaml.safe_load(front))
    except ValidationError as error:
        first = error.errors()[0]
        raise KnowledgeError(path, path.stem, ".".join(map(str, first["loc"])), first["msg"]) from None
    return Article(path.stem, meta.title, meta.summary, tuple(meta.treatments), tuple(meta.sources), body.strip())


def _unique(ids: Iterable[str], file: Path) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise KnowledgeError(file, item, "id", "the id is used twice")
        seen.add(item)


def load_knowledge_base(directory: Path = DATA_DIR) -> KnowledgeBase:
    manifest = read_file(directory / "manifest.yaml", schema.ManifestFile)
    treatments_file = directory / "treatments.yaml"
    treatment_entries = read_file(treatments_file, schema.TreatmentsFile, ("treatments",)).treatments
    _unique((t.slug for t in treatment_entries), treatments_file)
    treatments = {entry.slug: _treatment(entry) for entry in treatment_entries}
    names = _Names(treatments.values())
    for category in names.by_category:
        if category in names.slugs:
            raise KnowledgeError(treatments_file, category, "category", "a category may not share a slug's name")

    rules_file = directory / "rules.yaml"
    rules_data = read_file(rules_file, schema.RulesFile, ("rules", "limits"))
    _unique([*(r.id for r in rules_data.rules), *(limit.id for limit in rules_data.limits)], rules_file)
    rules = tuple(_rule(entry, names, rules_file) for entry in rules_data.rules)
    limits = tuple(_limit(entry, names, rules_file) for entry in rules_data.limits)

    factors_file = directory / "factors.yaml"
    factor_entries = read_file(factors_file, schema.FactorsFile, ("factors",)).factors
    _unique((f.id for f in factor_entries), factors_file)
    factors = {entry.id: _factor(entry, names, factors_file) for entry in factor_entries}

    articles = {a.slug: a for a in map(_article, sorted((directory / "articles").glob("*.md")))}
    for article in articles.values():
        for slug in article.treatments:
            if slug not in treatments:
                raise KnowledgeError(
                    directory / "articles" / f"{article.slug}.md",
                    article.slug,
                    "treatments",
                    f"{slug!r} is not a treatment slug",
                )
    return KnowledgeBase(manifest.version, treatments, rules, limits, factors, articles)


@lru_cache(maxsize=1)
def default_knowledge_base() -> KnowledgeBase:
    """The shipped knowledge base, loaded and validated once per process."""
    return load_knowledge_base()
