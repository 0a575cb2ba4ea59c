"""Proof that the knowledge base hangs together: sources, slugs, and no contradiction in the timing rules.

The interval rules form a simple temporal network: a rule from A to B says B - A lies in [min, max]. Along
any chain of visits A -> X -> ... -> B through distinct treatments, the waits add up; a chain whose minimums
already exceed the maximum a direct rule allows from A to B (or a direct minimum beyond the chain's maximums)
cannot be satisfied. Months count as 28 days in minimums and 31 in maximums, so only a sure conflict is flagged.
A chain that only breaks once personal factors lengthen skin-recovery waits is not a contradiction of the
rules but worth knowing (a maximum then cannot be met for that patient, and the advisor warns): a note."""

from __future__ import annotations

from dataclasses import dataclass

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule

MAX_CHAIN = 4  # visits in a chain; treatment journeys in the plans are shorter


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # rule or factor id
    problem: str
    contradiction: bool = True  # False: a note, true only for some patients' factors
    chain: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def _shortest_minimum(rule: IntervalRule, extension: int) -> int:
    return rule.minimum.shortest_days() + (extension if rule.skin_recovery else 0)


def _rule_problems(rule: IntervalRule, extension: int) -> list[Problem]:
    problems = []
    if not rule.source.strip() or not rule.rationale.strip():
        problems.append(Problem(rule.id, "every rule needs a source and a rationale"))
    low = rule.minimum.shortest_days()
    if rule.ideal is not None:
        ideal_low, ideal_high = (span.shortest_days() for span in rule.ideal)
        if not low <= ideal_low <= ideal_high:
            problems.append(
                Problem(
                    rule.id,
                    "the ideal window must start at or after the minimum and not end before it starts",
                )
            )
    if rule.maximum is not None:
        most = rule.maximum.longest_days()
        if rule.ideal is not None and rule.ideal[1].shortest_days() > most:
            problems.append(Problem(rule.id, "the ideal window ends after the maximum"))
        if rule.minimum.shortest_days() > most:
            problems.append(Problem(rule.id, "the minimum exceeds the maximum"))
        elif _shortest_minimum(rule, extension) > most:
            problems.append(
                Problem(
                    rule.id,
                    f"the minimum, lengthened by {extension} days for personal factors, exceeds the maximum",
                    contradiction=False,
                )
            )
    return problems


def _chain_problems(kb: KnowledgeBase, extension: int) -> list[Problem]:
    """Depth-first over chains of distinct treatments, comparing each chain with the direct rules."""
    edges: dict[str, list[tuple[str, IntervalRule]]] = {}
    for (earlier, later), rules in kb.pair_rules.items():
        if earlier != later:
            edges.setdefault(earlier, []).extend((later, rule) for rule in rules)
    problems: list[Problem] = []
    seen: set[tuple[str, ...]] = set()

    def walk(path: list[str], low: int, high: float) -> None:
        start, end = path[0], path[-1]
        if len(path) >= 3:
            for direct in kb.pair_rules.get((start, end), ()):
                chain = " -> ".join(path)
                key = (direct.id, *path)
                if key in seen:
                    continue
                seen.add(key)
                lengthened = f" once personal factors add {extension} days" if extension else ""
                if direct.maximum is not None and low > direct.maximum.longest_days():
                    problems.append(
                        Problem(
                            direct.id,
                            f"the chain {chain} needs at least {low} days{lengthened}, more than this rule's maximum",
                            not extension,
                            tuple(path),
                        )
                    )
                if _shortest_minimum(direct, extension) > high:
                    problems.append(
                        Problem(
                            direct.id,
                            f"the chain {chain} allows at most {high:g} days, "
                            f"less than this rule's minimum{lengthened}",
                            not extension,
                            tuple(path),
                        )
                    )
        if len(path) == MAX_CHAIN:
            return
        for nxt, rule in edges.get(end, ()):
            if nxt in path:
                continue
            step_high = float("inf") if rule.maximum is None else rule.maximum.longest_days()
            walk([*path, nxt], low + _shortest_minimum(rule, extension), high + step_high)

    for start in sorted(edges):
        walk([start], 0, 0.0)
    return problems


def check(kb: KnowledgeBase) -> list[Problem]:
    """Every problem found; an empty list means the knowledge base is consistent."""
    extension = max((factor.lengthen_days for factor in kb.factors.values()), default=0)
    problems: list[Problem] = []
    for rule in kb.rules:
        problems += _rule_problems(rule, extension)
    for limit in kb.limits:
        if not limit.source.strip():
            problems.append(Problem(limit.id, "every limit needs a source"))
    for factor in kb.factors.values():
        for effect in factor.effects:
            if not effect.source.strip():
                problems.append(Problem(factor.id, "every effect needs a source"))
    for article in kb.articles.values():
        if not article.sources:
            problems.append(Problem(article.slug, "every article names its sources"))
    problems += _chain_problems(kb, 0)
    if extension:
        plain = {(p.where, p.chain) for p in problems}
        problems += [p for p in _chain_problems(kb, extension) if (p.where, p.chain) not in plain]
    return problems
