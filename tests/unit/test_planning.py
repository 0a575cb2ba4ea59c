"""The planner on hand-made slots and the shipped templates and rules. Every expected date is written out by hand:
today is Monday 4 Jan 2027 in Abbotsford, and the slots are 10:00 and 14:00 local, Tuesday to Saturday."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.clock import clinic_zone
from safewindow.domain.advice import Severity, advise
from safewindow.domain.availability import OfferedTreatment
from safewindow.domain.history import PastVisit
from safewindow.domain.plan_relations import Minimum, slots_clash
from safewindow.domain.plan_requests import PlanRequest, PlanResult, PlanStatus, Preferences
from safewindow.domain.plan_templates import PlanStep, PlanTemplate, Spacing
from safewindow.domain.planning import plan
from safewindow.domain.slots import Fit, Slot
from safewindow.knowledge.loader import KnowledgeError, default_knowledge_base
from safewindow.knowledge.plan_loader import PLANS_FILE, default_plans, load_plans

KB = default_knowledge_base()
PLANS = default_plans()
ZONE = clinic_zone("America/Vancouver")
TODAY = date(2027, 1, 4)  # a Monday: the studio is closed
TUE_TO_SAT = range(1, 6)


def slots(
    days: int = 130,
    hours: tuple[int, ...] = (10, 14),
    practitioners: tuple[str, ...] = ("p1",),
    minutes: int = 45,
    first: date = TODAY,
) -> list[Slot]:
    found = []
    for n in range(1, days + 1):
        day = first + timedelta(days=n)
        if day.weekday() not in TUE_TO_SAT:
            continue
        for hour in hours:
            for practitioner in practitioners:
                start = datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)
                found.append(Slot(start, start + timedelta(minutes=minutes), practitioner, "r1", None, None))
    return found


def solve(template: str | PlanTemplate, found: list[Slot] | None = None, **options: object) -> PlanResult:
    chosen = PLANS.template(template) if isinstance(template, str) else template
    request = PlanRequest(chosen, KB, TODAY, ZONE, **options)  # type: ignore[arg-type]
    candidates = found if found is not None else slots()
    return plan(request, lambda _index, _step: candidates)


def days_of(result: PlanResult) -> list[tuple[str, str]]:
    return [(v.treatment, v.day.isoformat()) for v in result.visits]


def local(slot: Slot) -> str:
    return slot.start.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def test_the_series_then_botox_as_soon_as_every_rule_allows() -> None:
    result = solve("microneedling-series-then-botox")
    assert result.status is PlanStatus.OPTIMAL
    # 28 days between sessions (microneedling-series), Botox 14 days after the last (microneedling-then-botox).
    assert days_of(result) == [
        ("microneedling", "2027-01-05"),
        ("microneedling", "2027-02-02"),
        ("microneedling", "2027-03-02"),
        ("botox", "2027-03-16"),
    ]
    assert all(v.fit is Fit.IDEAL for v in result.visits)
    assert result.recall == (date(2027, 6, 14), date(2027, 7, 14))  # 90-120 days after 16 Mar
    assert "proven" in result.explanation


def test_a_past_session_pushes_the_series() -> None:
    result = solve("microneedling-series-then-botox", history=(PastVisit("microneedling", date(2026, 12, 29)),))
    assert days_of(result) == [
        ("microneedling", "2027-01-26"),  # 28 days after 29 Dec
        ("microneedling", "2027-02-23"),
        ("microneedling", "2027-03-23"),
        ("botox", "2027-04-06"),
    ]


def test_sensitive_skin_lengthens_the_wait_for_botox() -> None:
    result = solve("microneedling-series-then-botox", factors=("sensitive-skin",))
    # microneedling-then-botox is a skin-recovery rule: 14 + 7 days. The series rule is not.
    assert days_of(result)[-2:] == [("microneedling", "2027-03-02"), ("botox", "2027-03-23")]


def test_botox_and_filler_share_one_trip_without_overlapping() -> None:
    result = solve("botox-and-filler")
    assert result.status is PlanStatus.OPTIMAL
    assert days_of(result) == [("botox", "2027-01-05"), ("dermal-filler", "2027-01-05")]
    assert [local(v.slot) for v in result.visits] == ["2027-01-05 10:00", "2027-01-05 14:00"]


def test_with_one_slot_a_day_botox_and_filler_take_two_days() -> None:
    result = solve("botox-and-filler", slots(hours=(10,)))
    assert sorted(v.day.isoformat() for v in result.visits) == ["2027-01-05", "2027-01-06"]


def test_buffers_keep_same_day_visits_of_one_practitioner_apart() -> None:
    botox = OfferedTreatment("botox", 30, buffer_after_minutes=10)
    filler = OfferedTreatment("dermal-filler", 45, buffer_before_minutes=10)
    first = slots(days=1, hours=(10,), minutes=30)[0]
    at_10_35 = Slot(first.start + timedelta(minutes=35), first.start + timedelta(minutes=80), "p1", "r1", None, None)
    at_10_50 = Slot(first.start + timedelta(minutes=50), first.start + timedelta(minutes=95), "p1", "r1", None, None)
    at_10_45 = Slot(first.start + timedelta(minutes=45), first.start + timedelta(minutes=90), "p1", "r1", None, None)
    assert slots_clash(first, botox, at_10_35, filler)  # 10:30 + 10 min after, 10 min before 10:35
    assert slots_clash(first, botox, at_10_45, filler)  # clean-up until 10:40 and set-up from 10:35 add up
    assert slots_clash(at_10_45, filler, first, botox)  # whichever comes first in the question
    assert not slots_clash(first, botox, at_10_50, filler)
    request = PlanRequest(
        PLANS.template("botox-and-filler"), KB, TODAY, ZONE, treatments={"botox": botox, "dermal-filler": filler}
    )
    result = plan(request, [[first], [at_10_35, at_10_50]])
    assert [(v.treatment, local(v.slot)) for v in result.visits] == [
        ("botox", "2027-01-05 10:00"),
        ("dermal-filler", "2027-01-05 10:50"),
    ]


def test_ready_for_the_event_with_microneedling_first() -> None:
    result = solve("event-ready", event=date(2027, 2, 20))
    assert result.status is PlanStatus.OPTIMAL
    assert days_of(result) == [
        ("microneedling", "2027-01-05"),
        ("botox", "2027-01-19"),  # 14 days after microneedling, 32 before the event
        ("dermal-filler", "2027-01-19"),  # the same trip
    ]
    assert result.skipped_steps == ()


def test_the_optional_microneedling_is_left_out_when_it_cannot_fit() -> None:
    # Botox by 11 Jan (14 days before 25 Jan) and 14 days after microneedling: that would be 28 Dec, past.
    result = solve("event-ready", event=date(2027, 1, 25))
    assert days_of(result) == [("botox", "2027-01-05"), ("dermal-filler", "2027-01-05")]
    assert result.skipped_steps == (0,)
    assert "Optional microneedling left out" in result.explanation


def test_an_impossible_plan_names_the_chain_of_rules_and_dates() -> None:
    result = solve("microneedling-series-then-botox", event=date(2027, 3, 10))
    assert result.status is PlanStatus.INFEASIBLE
    assert result.visits == ()
    assert [(c.rule, c.day.isoformat() if c.day else None) for c in result.conflicts] == [
        ("first-free-slot", "2027-01-05"),
        ("microneedling-series", "2027-02-02"),
        ("microneedling-series", "2027-03-02"),
        ("microneedling-then-botox", "2027-03-16"),
        ("botox-peaks-before-event", "2027-02-24"),
    ]
    assert "by 2027-02-24, 20 day(s) before it can be" in result.explanation


def test_an_event_too_close_for_botox() -> None:
    result = solve("event-ready", event=date(2027, 1, 15))
    assert result.status is PlanStatus.INFEASIBLE
    assert [c.rule for c in result.conflicts] == ["first-free-slot", "botox-peaks-before-event"]
    assert result.conflicts[-1].message.startswith(
        "botox at least 14 days before the event on 2027-01-15: by 2027-01-01"
    )


def test_a_history_rule_is_named_as_the_start_of_the_chain() -> None:
    history = (PastVisit("botox", date(2026, 12, 1)),)
    result = solve("botox-and-filler", history=history, event=date(2027, 3, 1))
    # botox-repeat: 90 days after 1 Dec is 1 Mar; the event wants it by 15 Feb.
    assert [(c.rule, c.day) for c in result.conflicts] == [
        ("botox-repeat", date(2027, 3, 1)),
        ("no-free-slot", date(2027, 3, 2)),  # 1 Mar is a Monday: closed
        ("botox-peaks-before-event", date(2027, 2, 15)),
    ]


def test_a_factor_that_rules_out_a_treatment_sinks_the_plan() -> None:
    result = solve("botox-and-filler", factors=("pregnancy",))
    assert result.status is PlanStatus.INFEASIBLE
    assert {c.rule for c in result.conflicts} == {"pregnancy"}


def test_preferred_saturdays_are_worth_a_few_days() -> None:
    result = solve("microneedling-series-then-botox", preferences=Preferences(weekdays=frozenset({5})))
    assert days_of(result) == [
        ("microneedling", "2027-01-09"),
        ("microneedling", "2027-02-06"),
        ("microneedling", "2027-03-06"),
        ("botox", "2027-03-20"),
    ]


def test_the_preferred_practitioner_and_time() -> None:
    both = slots(hours=(10, 14, 15), practitioners=("p1", "p2"))
    result = solve(
        "botox-and-filler",
        both,
        preferences=Preferences(practitioner_id="p2", times=((time(13), time(17)),)),
    )
    assert [(local(v.slot), v.slot.practitioner_id) for v in result.visits] == [
        ("2027-01-05 14:00", "p2"),
        ("2027-01-05 15:00", "p2"),
    ]
    # With one afternoon slot a day, one trip still beats the preferred time (60 points against 15).
    fewer = slots(practitioners=("p1", "p2"))
    one_trip = solve("botox-and-filler", fewer, preferences=Preferences(times=((time(13), time(17)),)))
    assert sorted(local(v.slot) for v in one_trip.visits) == ["2027-01-05 10:00", "2027-01-05 14:00"]


def test_a_plan_that_needs_an_event_says_so() -> None:
    with pytest.raises(ValueError, match="event"):
        PlanRequest(PLANS.template("event-ready"), KB, TODAY, ZONE)


def test_the_catalogue_spacing_holds_without_the_template_saying_it() -> None:
    bare = PlanTemplate("bare", "bare", "no spacing of its own", False, (PlanStep("microneedling", 2),))
    assert days_of(solve(bare)) == [("microneedling", "2027-01-05"), ("microneedling", "2027-02-02")]
    stricter = PlanTemplate(
        "stricter", "stricter", "more than the catalogue", False, (PlanStep("microneedling", 2, Spacing(35)),)
    )
    result = solve(stricter)
    assert days_of(result) == [("microneedling", "2027-01-05"), ("microneedling", "2027-02-09")]


def _allowed_by_planner(minimum_ab: Minimum, minimum_ba: Minimum, first: int, second: int) -> bool:
    """The planner's pair relation: `second` (a visit of b) after `first` (a visit of a) or before it."""
    return (second >= first and second >= minimum_ab.ready(first)[0]) or (
        second <= first and first >= minimum_ba.ready(second)[0]
    )


@pytest.mark.parametrize("factors", [(), ("sensitive-skin",)])
def test_the_planners_pair_relation_is_the_advisors(factors: tuple[str, ...]) -> None:
    """For every pair of treatments with a rule between them, on every day around a visit: the planner allows
    exactly the days the advisor's interval rules allow (limits and factor blocks are other rules)."""
    interval_rules = {rule.id for rule in KB.rules}
    extension = 7 if factors else 0
    pairs = {(a, b) for a, b in KB.pair_rules} | {(b, a) for a, b in KB.pair_rules}
    for a, b in sorted(pairs):
        ab, ba = Minimum.of(KB, a, b, extension), Minimum.of(KB, b, a, extension)
        for visit_day in (date(2027, 1, 31), date(2027, 3, 15)):  # a month's end, for calendar-month rules
            for delta in range(-130, 131):
                day = visit_day + timedelta(days=delta)
                advice = advise(
                    KB, b, [PastVisit(a, visit_day)], factors, today=visit_day - timedelta(days=400), on=day
                )
                advisor = not any(r.severity is Severity.BLOCK and r.rule in interval_rules for r in advice.reasons)
                planner = _allowed_by_planner(ab, ba, visit_day.toordinal(), day.toordinal())
                assert planner == advisor, (a, b, visit_day, day)


def test_an_either_order_conflict_names_the_smallest_set_of_rules() -> None:
    """Microneedling and filler, in either order, 14 days apart; the event wants filler by 10 Jan and
    microneedling by 17 Jan. Each order alone would fit one deadline, neither fits both: the four rules."""
    events = {rule.id: rule for t in PLANS.templates.values() for rule in t.event_rules}
    template = PlanTemplate(
        "either",
        "either",
        "two treatments in either order",
        True,
        (PlanStep("microneedling"), PlanStep("dermal-filler")),
        (events["microneedling-heals-before-event"], events["filler-settles-before-event"]),
    )
    result = solve(template, event=date(2027, 1, 24))
    assert result.status is PlanStatus.INFEASIBLE
    assert sorted(c.rule for c in result.conflicts) == [
        "filler-settles-before-event",
        "filler-then-microneedling",
        "microneedling-heals-before-event",
        "microneedling-then-filler",
    ]
    assert {c.day for c in result.conflicts if c.day} == {date(2027, 1, 10), date(2027, 1, 17)}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      - treatment: microneedling\n        count: 3",
            "      - treatment: microneedle\n        count: 3",
            "plans.yaml, microneedling-series-then-botox, field steps.0.treatment: 'microneedle' is not a treatment",
        ),
        (
            "    needs_event: false\n    steps:\n      - treatment: microneedling\n        count: 3",
            "    steps:\n      - treatment: microneedling\n        count: 3",
            "plans.yaml, microneedling-series-then-botox, field needs_event: Field required",
        ),
        (
            "botox-peaks-before-event, filler-settles-before-event]",
            "botox-peaks-before-event]",
            "plans.yaml, event-ready, field steps.2.treatment: the plan needs an event, but no event rule says when "
            "dermal-filler",
        ),
        (
            "    rule: botox-repeat",
            "    rule: microneedling-then-botox",
            "plans.yaml, botox-recall, field rule: 'microneedling-then-botox' is not a repeat rule of botox",
        ),
        (
            "          min: 28\n          ideal: [28, 42]",
            "          min: 30\n          ideal: [28, 42]",
            "plans.yaml, microneedling-series-then-botox, field steps.0.between: Value error, spacing needs min",
        ),
    ],
)
def test_a_broken_plans_file_names_file_template_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = PLANS_FILE.read_text()
    assert old in text, old
    broken = tmp_path / "plans.yaml"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeError) as error:
        load_plans(KB, broken)
    assert str(error.value).startswith(message), str(error.value)
