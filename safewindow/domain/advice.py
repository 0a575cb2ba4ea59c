"""The advisor: when may this patient have treatment X, given every visit before and after, and their factors?

Each visit of the history forbids a run of days around it: before it, the wait the rule from X to that visit
asks; after it, the wait the rule from that visit to X asks. The earliest date is the first day, from the
latest of the minimums (today when no minimum binds), outside every forbidden run. The ideal window is the
intersection of the ideal windows of the visits that bind (the latest earlier visit and the next later visit
of each treatment)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from safewindow.domain.factors import Effect, Factor
from safewindow.domain.history import DEFAULT_AREA, PastVisit
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule, Kind, SameDay, Scope
from safewindow.domain.spans import Span
from safewindow.domain.treatments import Treatment


class Severity(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    kind: Kind
    severity: Severity
    message: str
    evidence: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "kind": str(self.kind),
            "severity": str(self.severity),
            "message": self.message,
            "evidence": self.evidence,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Advice:
    treatment: str
    allowed: bool  # false when a factor or a session limit blocks it outright
    earliest: date | None  # from the rules alone, may lie in the past
    earliest_bookable: date | None  # the first allowed day from today on
    ideal_start: date | None
    ideal_end: date | None
    verdict: Verdict | None  # for the proposed date, when one was given
    reasons: tuple[Reason, ...]

    @property
    def overridable(self) -> bool:
        """Every block is soft: a qualified practitioner may override it with a written reason."""
        blocks = [r for r in self.reasons if r.severity is Severity.BLOCK]
        return bool(blocks) and all(r.kind is Kind.SOFT for r in blocks)

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract every interface returns (CLI `when --json`, the API's /advice)."""
        result: dict[str, Any] = {
            "treatment": self.treatment,
            "allowed": self.allowed,
            "earliest": _iso(self.earliest),
            "earliest_bookable": _iso(self.earliest_bookable),
            "ideal_start": _iso(self.ideal_start),
            "ideal_end": _iso(self.ideal_end),
        }
        if self.verdict is not None:
            result["verdict"] = str(self.verdict)
        result["reasons"] = [reason.as_dict() for reason in self.reasons]
        return result


class UnknownName(ValueError):
    """An unknown treatment or factor, with the closest known names."""

    def __init__(self, what: str, name: str, known: Iterable[str]) -> None:
        self.what, self.name = what, name
        self.suggestions = tuple(difflib.get_close_matches(name, list(known), n=3, cutoff=0.6))
        hint = f"; did you mean {self.suggestions[0]}?" if self.suggestions else ""
        super().__init__(f"unknown {what} {name!r}{hint}")


def find_treatment(kb: KnowledgeBase, slug: str) -> Treatment:
    try:
        return kb.treatments[slug]
    except KeyError:
        raise UnknownName("treatment", slug, kb.treatments) from None


def find_factor(kb: KnowledgeBase, factor_id: str) -> Factor:
    try:
        return kb.factors[factor_id]
    except KeyError:
        raise UnknownName("factor", factor_id, kb.factors) from None


@dataclass(frozen=True, slots=True)
class _Bound:
    """What one history visit asks of the wanted treatment: not in (not_after, not_before), exclusive."""

    visit: PastVisit
    into: tuple[IntervalRule, ...]  # rules from the visit's treatment to the wanted one (visit first)
    out_of: tuple[IntervalRule, ...]  # rules from the wanted treatment to the visit's (wanted first)
    not_after: int  # ordinal of the last day the wanted treatment may come before this visit
    not_before: int  # ordinal of the first day it may come after it


def _minimum(rule: IntervalRule, extension: int) -> Span:
    return rule.minimum.lengthened(extension) if rule.skin_recovery else rule.minimum


def _bounds(
    kb: KnowledgeBase, slug: str, area: str, history: Sequence[PastVisit], extension: int, today: int
) -> list[_Bound]:
    bounds = []
    pair_rules = kb.pair_rules
    for visit in history:
        into = pair_rules.get((visit.treatment, slug), ())
        out_of = pair_rules.get((slug, visit.treatment), ())
        if not into and not out_of:
            continue
        if visit.area != area:
            into = tuple(r for r in into if r.scope is Scope.PATIENT)
            out_of = tuple(r for r in out_of if r.scope is Scope.PATIENT)
            if not into and not out_of:
                continue
        # Without a rule in one direction, the same day is fine in that order, so the bound is the visit day.
        day = not_before = not_after = visit.day.toordinal()
        for rule in into:
            ready = rule.minimum.after_ordinal(day) + (extension if rule.skin_recovery else 0)
            if ready > not_before:
                not_before = ready
        for rule in out_of:
            # Lengthening adds days on top of any months: last d with d + months + days + extension <= day.
            latest = rule.minimum.before_ordinal(day - extension if rule.skin_recovery else day)
            if latest < not_after:
                not_after = latest
        if day <= today and not_after >= day:
            # A visit on or before today has happened: anything new comes after it, even on its own day.
            not_after = day - 1
        bounds.append(_Bound(visit, into, out_of, not_after, not_before))
    return bounds


def _first_allowed(start: int, bounds: list[_Bound]) -> int:
    """The first day from `start` outside every forbidden run. One pass over runs sorted by their start
    suffices: the candidate only moves forward, past the end of the run that held it."""
    candidate = start
    for bound in sorted(bounds, key=lambda b: b.not_after):
        if bound.not_after < candidate < bound.not_before:
            candidate = bound.not_before
    return candidate


def _limit_reasons(kb: KnowledgeBase, slug: str, history: Sequence[PastVisit], day: date) -> list[Reason]:
    """Sessions counted over the whole history, or, for a limit `since` another treatment, between the last
    visit of it on or before `day` and the next one (a touch-up belongs to the Botox treatment before it)."""
    reasons = []
    for limit in kb.limits_for.get(slug, ()):
        since = until = None
        if limit.since:
            anchors = [v.day for v in history if v.treatment == limit.since]
            since = max((d for d in anchors if d <= day), default=None)
            until = min((d for d in anchors if d > day), default=None)
        count = sum(
            1
            for v in history
            if v.treatment == slug and (since is None or v.day >= since) and (until is None or v.day < until)
        )
        if count >= limit.max_sessions:
            scope = f" since the last {limit.since} ({since})" if since else ""
            reasons.append(
                Reason(
                    limit.id,
                    limit.kind,
                    Severity.BLOCK,
                    f"{count} {slug} session(s) already{scope}; the limit is {limit.max_sessions}. {limit.rationale}",
                    limit.evidence,
                    limit.source,
                )
            )
    return reasons


def _factor_reasons(kb: KnowledgeBase, slug: str, factors: Sequence[Factor]) -> list[Reason]:
    reasons = []
    for factor in factors:
        for effect in kb.effects_for.get((factor.id, slug), ()):
            blocks = effect.effect in (Effect.BLOCK_HARD, Effect.BLOCK_SOFT)
            message = effect.message
            if factor.disagreement:
                message = f"{message} Sources disagree: {factor.disagreement}"
            reasons.append(
                Reason(
                    factor.id,
                    Kind.HARD if effect.effect is Effect.BLOCK_HARD else Kind.SOFT,
                    Severity.BLOCK if blocks else Severity.WARN,
                    message,
                    effect.evidence,
                    effect.source,
                )
            )
    return reasons


def _ideal_low(rule: IntervalRule, extension: int, low: Span) -> Span:
    """A lengthened minimum also pushes the ideal window's start: no ideal day comes before the minimum."""
    minimum = _minimum(rule, extension)
    return minimum if minimum.shortest_days() > low.shortest_days() else low


def _window(rule: IntervalRule, bound: _Bound, extension: int, wanted_first: bool) -> tuple[int, int] | None:
    if rule.ideal is None:
        return None
    low, high = _ideal_low(rule, extension, rule.ideal[0]), rule.ideal[1]
    day = bound.visit.day
    ordinal = day.toordinal()
    if wanted_first:
        return high.before_ordinal(ordinal), low.before_ordinal(ordinal)
    return low.after_ordinal(ordinal), high.after_ordinal(ordinal)


def span_range(low: Span, high: Span) -> str:
    """'14-28 days', or '6 months to 18 months' when months are involved."""
    if low.months == 0 and high.months == 0:
        return f"{low.days}-{high.days} days"
    return f"{low} to {high}"


def _binding(bounds: list[_Bound], reference: int) -> list[tuple[IntervalRule, _Bound, bool]]:
    """Per rule, the visit that binds on `reference`: the latest one on or before it, the next one after it."""
    earlier: dict[str, tuple[IntervalRule, _Bound]] = {}
    later: dict[str, tuple[IntervalRule, _Bound]] = {}
    for bound in bounds:
        ordinal = bound.visit.day.toordinal()
        # On the visit's own day the wanted treatment comes after it only where a rule allows that order.
        if ordinal < reference or (ordinal == reference and bound.not_before == ordinal):
            for rule in bound.into:
                held = earlier.get(rule.id)
                if held is None or held[1].visit.day < bound.visit.day:
                    earlier[rule.id] = (rule, bound)
        else:
            for rule in bound.out_of:
                held = later.get(rule.id)
                if held is None or held[1].visit.day > bound.visit.day:
                    later[rule.id] = (rule, bound)
    return [(r, b, False) for r, b in earlier.values()] + [(r, b, True) for r, b in later.values()]


def _describe(
    rule: IntervalRule, bound: _Bound, extension: int, wanted_first: bool, slug: str, passed: int | None
) -> str:
    minimum = _minimum(rule, extension)
    other, day = bound.visit.treatment, bound.visit.day
    if wanted_first:
        text = f"{slug} at least {minimum} before {other} on {day}: not after {minimum.before(day)}"
    else:
        text = f"{slug} at least {minimum} after {other} on {day}: not before {minimum.after(day)}"
    if rule.ideal:
        text += f"; ideally {span_range(*rule.ideal)} {'before' if wanted_first else 'after'}"
    if minimum != rule.minimum:
        text += f" (lengthened from {rule.minimum} by personal factors)"
    if passed is not None:
        text += f"; that ideal window ended on {date.fromordinal(passed)}, only the minimum still applies"
    return f"{text}. {rule.rationale}"


def _ordinal_date(ordinal: int | None) -> date | None:
    return None if ordinal is None else date.fromordinal(ordinal)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def advise(
    kb: KnowledgeBase,
    treatment: str,
    history: Sequence[PastVisit],
    factors: Iterable[str] = (),
    *,
    today: date,
    on: date | None = None,
    area: str = DEFAULT_AREA,
) -> Advice:
    """`history` holds past and booked visits, each on its calendar day in the clinic's zone; so are
    `today` and `on`. Cancelled visits do not belong in it."""
    find_treatment(kb, treatment)
    chosen = [find_factor(kb, factor_id) for factor_id in dict.fromkeys(factors)]
    extension = max((factor.lengthen_days for factor in chosen), default=0)

    reasons = _factor_reasons(kb, treatment, chosen) + _limit_reasons(kb, treatment, history, on or today)
    allowed = not any(r.severity is Severity.BLOCK for r in reasons)

    today_ordinal = today.toordinal()
    bounds = _bounds(kb, treatment, area, history, extension, today_ordinal)
    # Earliest starts at the latest forward minimum of the visits already past; later visits only forbid runs.
    floor = max((b.not_before for b in bounds if b.into and b.visit.day <= today), default=today_ordinal)
    earliest = _first_allowed(min(today_ordinal, floor), bounds)
    bookable = _first_allowed(max(earliest, today_ordinal), bounds)

    on_ordinal = on.toordinal() if on is not None else None
    reference = on_ordinal if on_ordinal is not None else earliest
    binding = _binding(bounds, reference)

    windows: list[tuple[int, int]] = []
    for rule, bound, wanted_first in binding:
        window = _window(rule, bound, extension, wanted_first)
        # A window that closed before the earliest date cannot be met: it is said, not intersected.
        passed = window[1] if window is not None and not wanted_first and window[1] < earliest else None
        if window is not None and passed is None:
            windows.append(window)
        message = _describe(rule, bound, extension, wanted_first, treatment, passed)
        reasons.append(Reason(rule.id, rule.kind, Severity.INFO, message, rule.evidence, rule.source))

    ideal: tuple[int, int] | None = None
    if windows:
        start = max(max(w[0] for w in windows), earliest)
        end = min(w[1] for w in windows)
        if start <= end:
            ideal = (start, end)
        else:
            reasons.append(
                Reason(
                    "ideal-windows-disjoint",
                    Kind.SOFT,
                    Severity.WARN,
                    "The ideal windows of these rules do not overlap, so there is no ideal date; "
                    "a practitioner decides which matters most.",
                    "practice",
                    "the rules listed",
                )
            )

    if extension and any(rule.skin_recovery for rule, _, _ in binding):
        for factor in chosen:
            if factor.lengthen_days:
                effect = next(e for e in factor.effects if e.effect is Effect.LENGTHEN)
                reasons.append(
                    Reason(factor.id, Kind.SOFT, Severity.INFO, effect.message, effect.evidence, effect.source)
                )

    verdict = None
    if on_ordinal is not None:
        reasons += _proposed_date_reasons(bounds, binding, ideal, on_ordinal, extension, treatment)
        if any(r.severity is Severity.BLOCK for r in reasons):
            verdict = Verdict.BLOCK
        elif any(r.severity is Severity.WARN for r in reasons):
            verdict = Verdict.WARN
        else:
            verdict = Verdict.OK

    if not allowed:
        return Advice(treatment, False, None, None, None, None, verdict, tuple(reasons))
    return Advice(
        treatment,
        True,
        date.fromordinal(earliest),
        date.fromordinal(bookable),
        _ordinal_date(ideal[0] if ideal else None),
        _ordinal_date(ideal[1] if ideal else None),
        verdict,
        tuple(reasons),
    )


def _proposed_date_reasons(
    bounds: list[_Bound],
    binding: list[tuple[IntervalRule, _Bound, bool]],
    ideal: tuple[int, int] | None,
    day: int,
    extension: int,
    slug: str,
) -> list[Reason]:
    on = date.fromordinal(day)
    broken: dict[str, Reason] = {}
    for bound in bounds:
        if not bound.not_after < day < bound.not_before:
            continue
        visit_day = bound.visit.day.toordinal()
        other = bound.visit.treatment
        if day >= visit_day:
            for rule in bound.into:
                ready = _minimum(rule, extension).after(bound.visit.day)
                if ready > on and rule.id not in broken:
                    broken[rule.id] = Reason(
                        rule.id,
                        rule.kind,
                        Severity.BLOCK,
                        f"{on} is too soon after {other} on {bound.visit.day}: wait until {ready}. {rule.rationale}",
                        rule.evidence,
                        rule.source,
                    )
        if day <= visit_day:
            for rule in bound.out_of:
                latest = _minimum(rule, extension).before(bound.visit.day)
                if latest < on and rule.id not in broken:
                    broken[rule.id] = Reason(
                        rule.id,
                        rule.kind,
                        Severity.BLOCK,
                        f"{on} is too close before {other} booked on {bound.visit.day}: "
                        f"{slug} must be on or before {latest}, or the {other} visit moved. {rule.rationale}",
                        rule.evidence,
                        rule.source,
                    )
    reasons = list(broken.values())

    for rule, bound, wanted_first in binding:
        if wanted_first:
            continue
        last = rule.maximum.after(bound.visit.day) if rule.maximum is not None else None
        if last is not None and on > last:
            reasons.append(
                Reason(
                    rule.id,
                    rule.kind,
                    Severity.WARN,
                    f"{on} is past the {rule.maximum} maximum after {bound.visit.treatment} on "
                    f"{bound.visit.day} ({last}): it may lose its point.",
                    rule.evidence,
                    rule.source,
                )
            )
        if day == bound.visit.day.toordinal() and rule.same_day is SameDay.EARLIER_FIRST:
            reasons.append(
                Reason(
                    rule.id,
                    rule.kind,
                    Severity.INFO,
                    f"On the same day, have {bound.visit.treatment} first.",
                    rule.evidence,
                    rule.source,
                )
            )
    if not broken and ideal is not None and not ideal[0] <= day <= ideal[1]:
        reasons.append(
            Reason(
                "ideal-window",
                Kind.SOFT,
                Severity.WARN,
                f"{on} is allowed but outside the ideal window "
                f"{date.fromordinal(ideal[0])} to {date.fromordinal(ideal[1])}.",
                "practice",
                "the rules listed",
            )
        )
    return reasons
