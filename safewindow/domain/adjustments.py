"""A clinic's adjustments to the knowledge base's timing rules, as a pure function of the base and a change log.

A clinic may TIGHTEN any rule: raise a minimum, start the ideal window later or end it earlier, make a soft
rule hard, allow fewer sessions. It may LOOSEN only a rule that is soft in the knowledge base, and only within
its source: never below the source's minimum, never wider than the source's ideal window, never more sessions
than the source allows, never a hard rule soft. So loosening can only undo an earlier tightening, and a rule
that is hard in the knowledge base (a label's repeat interval, say) can only ever be tightened.

`adjusted(kb, log)` applies the log's values in order, and the base stays the floor: a stored value looser
than the base's (the knowledge base itself grew stricter since) gives way to the base's. The loader's value
is never mutated; the result is a new KnowledgeBase with new rules and rebuilt indexes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule, Kind, SessionLimit
from safewindow.domain.spans import Span

Rule = IntervalRule | SessionLimit
LONGEST = Span(days=5 * 366)  # no wait a clinic sets may run past this: dates stay far from the calendar's end
MOST_SESSIONS = 100


class Field(StrEnum):
    MIN = "min"
    IDEAL_START = "ideal_start"
    IDEAL_END = "ideal_end"
    KIND = "kind"
    MAX_SESSIONS = "max_sessions"


INTERVAL_FIELDS = (Field.MIN, Field.IDEAL_START, Field.IDEAL_END, Field.KIND)
LIMIT_FIELDS = (Field.MAX_SESSIONS, Field.KIND)
_BY_NAME = {field.value: field for field in Field}


@dataclass(frozen=True, slots=True)
class RuleAdjustment:
    """One stored change: a rule's field set to a value, as text ('21 days', '2 months', 'hard', '3')."""

    rule_id: str
    field: Field
    value: str


@dataclass(frozen=True, slots=True)
class AdjustmentProblem:
    field: str
    problem: str


class AdjustmentRefused(ValueError):
    def __init__(self, problems: list[AdjustmentProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))


def fields_of(rule: Rule) -> tuple[Field, ...]:
    return LIMIT_FIELDS if isinstance(rule, SessionLimit) else INTERVAL_FIELDS


def value_of(rule: Rule, field: Field) -> str:
    """The rule's value of `field` as text, in the form the API takes it."""
    if isinstance(rule, SessionLimit):
        return str(rule.max_sessions) if field is Field.MAX_SESSIONS else str(rule.kind)
    if field is Field.KIND:
        return str(rule.kind)
    if field is Field.MIN:
        return str(rule.minimum)
    if rule.ideal is None:
        return ""
    return str(rule.ideal[0] if field is Field.IDEAL_START else rule.ideal[1])


def at_least(longer: Span, shorter: Span) -> bool:
    """`longer` reaches at least as far as `shorter` from every date (a month is 28 to 31 days)."""
    return (longer.months >= shorter.months and longer.days >= shorter.days) or (
        longer.shortest_days() >= shorter.longest_days()
    )


def _span(text: str) -> Span:
    span = Span.parse(text)
    if not at_least(LONGEST, span):
        raise ValueError(f"{text!r} is longer than {LONGEST.days} days")
    return span


def _parse(field: Field, text: str) -> Span | Kind | int:
    """The value, or ValueError saying why not."""
    text = text.strip()
    if field is Field.KIND:
        try:
            return Kind(text)
        except ValueError:
            raise ValueError(f"{text!r} is not hard or soft") from None
    if field is Field.MAX_SESSIONS:
        if not text.isdigit() or not 1 <= int(text) <= MOST_SESSIONS:
            raise ValueError(f"{text!r} is not a whole number from 1 to {MOST_SESSIONS}")
        return int(text)
    return _span(text)


def _as_tight(field: Field, new: Span | Kind | int, reference: Span | Kind | int) -> bool:
    """Whether `new` is at least as strict as `reference` for this field."""
    if isinstance(new, Kind) and isinstance(reference, Kind):
        return new is Kind.HARD or reference is Kind.SOFT
    if isinstance(new, int) and isinstance(reference, int):
        return new <= reference  # fewer sessions
    assert isinstance(new, Span) and isinstance(reference, Span)
    if field is Field.IDEAL_END:
        return at_least(reference, new)  # the window ends no later
    return at_least(new, reference)  # the minimum, or the window's start, comes no earlier


def _has(rule: Rule, field: Field) -> bool:
    return not (isinstance(rule, IntervalRule) and field in (Field.IDEAL_START, Field.IDEAL_END) and rule.ideal is None)


def _current(rule: Rule, field: Field) -> Span | Kind | int:
    if field is Field.KIND:
        return rule.kind
    if isinstance(rule, SessionLimit):
        return rule.max_sessions
    if field is Field.MIN:
        return rule.minimum
    assert rule.ideal is not None
    return rule.ideal[0] if field is Field.IDEAL_START else rule.ideal[1]


def _with(rule: Rule, field: Field, value: Span | Kind | int) -> Rule:
    if isinstance(value, Kind):
        return dataclasses.replace(rule, kind=value)
    if isinstance(rule, SessionLimit):
        assert isinstance(value, int)
        return dataclasses.replace(rule, max_sessions=value)
    assert isinstance(value, Span) and (field is Field.MIN or rule.ideal is not None)
    if field is Field.MIN:
        return dataclasses.replace(rule, minimum=value)
    assert rule.ideal is not None
    ideal = (value, rule.ideal[1]) if field is Field.IDEAL_START else (rule.ideal[0], value)
    return dataclasses.replace(rule, ideal=ideal)


def _shape_problems(rule: Rule, changed: Iterable[Field]) -> list[AdjustmentProblem]:
    """The rule as changed must still hang together: minimum <= ideal start <= ideal end <= maximum."""
    if isinstance(rule, SessionLimit):
        return []
    changed = set(changed)
    if rule.ideal is None:
        if rule.maximum is not None and rule.minimum.shortest_days() > rule.maximum.longest_days():
            return [AdjustmentProblem(Field.MIN, f"the minimum would be past the maximum ({rule.maximum})")]
        return []
    low, start, end = rule.minimum, *rule.ideal
    problems = []
    if start.shortest_days() < low.shortest_days():
        field = Field.MIN if Field.MIN in changed else Field.IDEAL_START
        problems.append(
            AdjustmentProblem(
                field,
                f"the minimum ({low}) would come after the ideal window's start ({start}); change ideal_start too",
            )
        )
    if end.shortest_days() < start.shortest_days():
        field = Field.IDEAL_END if Field.IDEAL_END in changed else Field.IDEAL_START
        problems.append(AdjustmentProblem(field, f"the ideal window would end ({end}) before it starts ({start})"))
    if rule.maximum is not None and end.shortest_days() > rule.maximum.longest_days():
        problems.append(
            AdjustmentProblem(Field.IDEAL_END, f"the ideal window would end ({end}) after the maximum ({rule.maximum})")
        )
    return problems


def check_changes(source: Rule, current: Rule, changes: Mapping[str, str]) -> Rule:
    """The rule with `changes` (field name -> value text) applied to the clinic's current rule, or
    AdjustmentRefused naming every field at fault. `source` is the knowledge base's rule: the floor."""
    problems: list[AdjustmentProblem] = []
    rule = current
    changed: list[Field] = []
    for name, text in changes.items():
        field = _BY_NAME.get(name)
        if field is None or field not in fields_of(source):
            allowed = ", ".join(fields_of(source))
            problems.append(AdjustmentProblem(name, f"{source.id} has no field {name!r}; it has {allowed}"))
            continue
        if not _has(source, field):
            problems.append(AdjustmentProblem(name, f"{source.id} has no ideal window"))
            continue
        try:
            value = _parse(field, text)
        except ValueError as error:
            problems.append(AdjustmentProblem(name, str(error)))
            continue
        base = _current(source, field)
        if not _as_tight(field, value, base):
            problems.append(AdjustmentProblem(name, _looser(source, field, value, base)))
            continue
        if source.kind is Kind.HARD and not _as_tight(field, value, _current(current, field)):
            problems.append(
                AdjustmentProblem(
                    name,
                    f"{source.id} is a hard rule in the knowledge base: a clinic may only tighten it "
                    f"(it is {_current(current, field)} here now)",
                )
            )
            continue
        rule = _with(rule, field, value)
        changed.append(field)
    if not problems:
        problems = _shape_problems(rule, changed)
    if problems:
        raise AdjustmentRefused(problems)
    return rule


def _looser(source: Rule, field: Field, value: Span | Kind | int, base: Span | Kind | int) -> str:
    where = f"the knowledge base's {value_of(source, field)} ({source.source})"
    if field is Field.KIND:
        return f"{source.id} is {base} in the knowledge base; a clinic may not make it {value}"
    if field is Field.MAX_SESSIONS:
        return f"{value} sessions is more than {where}; a clinic may only allow fewer"
    if field is Field.IDEAL_END:
        return f"{value} ends the ideal window later than {where}; a clinic may only end it earlier"
    what = "minimum" if field is Field.MIN else "ideal window's start"
    return f"{value} is below {where}: a clinic may raise the {what} but never lower it below its source"


def apply(kb: KnowledgeBase, log: Iterable[RuleAdjustment]) -> dict[str, Rule]:
    """The rules the log changes, by id, with each field at its last logged value or the base's, whichever is
    stricter. Entries for rules or fields the knowledge base no longer has are passed over."""
    base = {rule.id: rule for rule in kb.all_rules()}
    changed: dict[str, Rule] = {}
    for entry in log:
        source = base.get(entry.rule_id)
        if source is None or entry.field not in fields_of(source) or not _has(source, entry.field):
            continue
        try:
            value = _parse(entry.field, entry.value)
        except ValueError:
            continue
        if not _as_tight(entry.field, value, _current(source, entry.field)):
            value = _current(source, entry.field)
        changed[source.id] = _with(changed.get(source.id, source), entry.field, value)
    return changed


def _sourced(source: Rule, rule: Rule) -> Rule:
    """The rule's source says what the clinic changed, so every reason quoting it stays honest."""
    differences = [
        f"{field} {value_of(rule, field)} (the source says {value_of(source, field)})"
        for field in fields_of(source)
        if value_of(rule, field) != value_of(source, field)
    ]
    if not differences:
        return source
    return dataclasses.replace(rule, source=f"{source.source}; this clinic set {', '.join(differences)}")


def adjusted(kb: KnowledgeBase, log: Iterable[RuleAdjustment], *, version: str | None = None) -> KnowledgeBase:
    """The knowledge base with the clinic's adjustments applied; `kb` itself is returned when none changes a
    rule. Each changed rule's source names the changes."""
    changed: dict[str, Rule] = {}
    for rule_id, rule in apply(kb, log).items():
        source = kb.rule(rule_id)
        if (sourced := _sourced(source, rule)) is not source:
            changed[rule_id] = sourced
    if not changed:
        return kb
    rules = tuple(found if isinstance(found := changed.get(r.id, r), IntervalRule) else r for r in kb.rules)
    limits = tuple(found if isinstance(found := changed.get(s.id, s), SessionLimit) else s for s in kb.limits)
    return dataclasses.replace(kb, version=version or kb.version, rules=rules, limits=limits)
