"""Every rule and limit of the shipped knowledge base, with its dates written out by hand from
clinical-facts.md. A rule added to the data without a line here fails `test_every_rule_is_covered`."""

from __future__ import annotations

from datetime import date

import pytest

from safewindow.domain.advice import Severity, Verdict, advise
from safewindow.domain.history import PastVisit
from safewindow.knowledge.loader import default_knowledge_base

KB = default_knowledge_base()
TODAY = date(2026, 11, 25)

# rule id, earlier visit, wanted treatment, earliest, ideal start, ideal end (from the earlier visit's day)
FORWARD = [
    (
        "microneedling-then-botox",
        "microneedling@2026-11-10",
        "botox",
        "2026-11-24",
        "2026-11-24",
        "2026-12-08",
    ),
    (
        "microneedling-then-botox",
        "microneedling@2026-11-10",
        "botox-touch-up",
        "2026-11-24",
        "2026-11-24",
        "2026-12-08",
    ),
    (
        "botox-then-microneedling",
        "botox@2026-11-10",
        "microneedling",
        "2026-11-24",
        "2026-11-24",
        "2026-12-08",
    ),
    (
        "microneedling-then-filler",
        "microneedling@2026-12-20",
        "dermal-filler",
        "2027-01-03",
        "2027-01-03",
        "2027-01-17",
    ),
    (
        "filler-then-microneedling",
        "dermal-filler@2026-12-20",
        "microneedling",
        "2027-01-03",
        "2027-01-03",
        "2027-01-17",
    ),
    ("botox-then-filler", "botox@2026-12-01", "dermal-filler", "2026-12-01", "2026-12-01", "2026-12-15"),
    ("filler-then-botox", "dermal-filler@2026-12-01", "botox", "2026-12-01", "2026-12-01", "2026-12-15"),
    ("mfu-v-then-injectables", "mfu-v@2026-12-01", "dermal-filler", "2026-12-01", "2026-12-01", "2026-12-15"),
    (
        "filler-then-energy-or-light-peel",
        "dermal-filler@2026-12-01",
        "ipl",
        "2026-12-08",
        "2026-12-15",
        "2026-12-29",
    ),
    (
        "light-peel-then-microneedling",
        "chemical-peel-light@2026-12-01",
        "microneedling",
        "2026-12-15",
        "2026-12-15",
        "2026-12-29",
    ),
    (
        "medium-deep-peel-then-microneedling",
        "chemical-peel-deep@2026-12-01",
        "microneedling",
        "2026-12-29",
        "2026-12-29",
        "2027-01-26",
    ),
    (
        "microneedling-then-light-peel",
        "microneedling@2026-12-01",
        "chemical-peel-light",
        "2026-12-15",
        "2026-12-15",
        "2026-12-29",
    ),
    (
        "pdo-threads-then-energy-or-needling",
        "pdo-threads@2026-12-01",
        "laser-nonablative",
        "2026-12-29",
        "2026-12-29",
        "2027-02-09",
    ),
    ("botox-repeat", "botox@2026-11-10", "botox", "2027-02-08", "2027-02-08", "2027-03-10"),
    ("botox-then-touch-up", "botox@2026-11-10", "botox-touch-up", "2026-11-24", "2026-11-24", "2026-12-08"),
    ("kybella-repeat", "kybella@2027-01-31", "kybella", "2027-02-28", "2027-02-28", "2027-03-31"),
    (
        "microneedling-series",
        "microneedling@2026-11-10",
        "microneedling",
        "2026-12-08",
        "2026-12-08",
        "2026-12-22",
    ),
    (
        "filler-same-area-touch-up",
        "dermal-filler@2026-11-10",
        "dermal-filler",
        "2026-11-24",
        "2027-05-10",
        "2028-05-10",
    ),
]


def visits(text: str) -> list[PastVisit]:
    result = []
    for item in text.split(","):
        slug, _, day = item.partition("@")
        result.append(PastVisit(slug, date.fromisoformat(day)))
    return result


@pytest.mark.parametrize(("rule", "history", "wanted", "earliest", "start", "end"), FORWARD)
def test_forward_rule(rule: str, history: str, wanted: str, earliest: str, start: str, end: str) -> None:
    advice = advise(KB, wanted, visits(history), today=visits(history)[0].day)
    assert advice.earliest == date.fromisoformat(earliest)
    assert (advice.ideal_start, advice.ideal_end) == (date.fromisoformat(start), date.fromisoformat(end))
    assert rule in {r.rule for r in advice.reasons}
    day_before = date.fromordinal(date.fromisoformat(earliest).toordinal() - 1)
    if advice.earliest != visits(history)[0].day:  # a minimum binds: the day before is refused
        assert advise(KB, wanted, visits(history), today=TODAY, on=day_before).verdict is Verdict.BLOCK


def test_the_booked_later_direction_of_the_seed_rule() -> None:
    # Botox wanted while microneedling is booked on 20 Dec: botox-then-microneedling asks botox by 6 Dec.
    history = visits("microneedling@2026-12-20")
    assert advise(KB, "botox", history, today=TODAY, on=date(2026, 12, 6)).verdict is not Verdict.BLOCK
    late = advise(KB, "botox", history, today=TODAY, on=date(2026, 12, 7))
    assert late.verdict is Verdict.BLOCK
    assert [r.rule for r in late.reasons if r.severity is Severity.BLOCK] == ["botox-then-microneedling"]


def test_mfu_v_goes_first_on_the_same_day() -> None:
    advice = advise(KB, "botox", visits("mfu-v@2026-12-01"), today=TODAY, on=date(2026, 12, 1))
    assert advice.verdict is Verdict.OK
    assert any("have mfu-v first" in r.message for r in advice.reasons)


def test_touch_up_loses_its_point_after_28_days() -> None:
    history = visits("botox@2026-11-10")
    assert advise(KB, "botox-touch-up", history, today=TODAY, on=date(2026, 12, 8)).verdict is Verdict.OK
    assert advise(KB, "botox-touch-up", history, today=TODAY, on=date(2026, 12, 9)).verdict is Verdict.WARN


def test_kybella_course_limit() -> None:
    six = visits(",".join(f"kybella@2026-0{m}-01" for m in range(1, 7)))
    advice = advise(KB, "kybella", six, today=TODAY)
    assert not advice.allowed and advice.reasons[0].rule == "kybella-course-limit"
    assert advise(KB, "kybella", six[:5], today=TODAY).allowed


def test_touch_up_once_per_treatment() -> None:
    history = visits("botox@2026-11-01,botox-touch-up@2026-11-16")
    advice = advise(KB, "botox-touch-up", history, today=TODAY)
    assert not advice.allowed and advice.overridable
    assert advice.reasons[0].rule == "touch-up-once-per-treatment"


def test_every_rule_is_covered() -> None:
    covered = {row[0] for row in FORWARD} | {"kybella-course-limit", "touch-up-once-per-treatment"}
    assert {rule.id for rule in (*KB.rules, *KB.limits)} == covered


@pytest.mark.parametrize(
    ("factor", "treatment", "verdict", "kind"),
    [
        ("pregnancy", "botox", Verdict.BLOCK, "hard"),
        ("pregnancy", "chemical-peel-light", Verdict.BLOCK, "soft"),
        ("infection-at-site", "microneedling", Verdict.BLOCK, "hard"),
        ("neuromuscular-disorder", "botox", Verdict.BLOCK, "hard"),
        ("allergy-botulinum-toxin", "botox-touch-up", Verdict.BLOCK, "hard"),
        ("allergy-hyaluronic-acid", "dermal-filler", Verdict.BLOCK, "hard"),
        ("allergy-lidocaine", "dermal-filler", Verdict.BLOCK, "soft"),
        ("allergy-deoxycholic-acid", "kybella", Verdict.BLOCK, "hard"),
        ("isotretinoin", "laser-ablative", Verdict.BLOCK, "soft"),
        ("isotretinoin", "microneedling", Verdict.WARN, "soft"),
        ("hsv", "laser-ablative", Verdict.WARN, "soft"),
        ("recent-tan", "ipl", Verdict.BLOCK, "soft"),
        ("keloids", "microneedling", Verdict.WARN, "soft"),
        ("blood-thinners", "dermal-filler", Verdict.WARN, "soft"),
        ("retinoids", "chemical-peel-light", Verdict.WARN, "soft"),
    ],
)
def test_factor(factor: str, treatment: str, verdict: Verdict, kind: str) -> None:
    advice = advise(KB, treatment, [], [factor], today=TODAY, on=TODAY)
    assert advice.verdict is verdict
    assert advice.allowed is (verdict is not Verdict.BLOCK)
    assert [(r.rule, str(r.kind)) for r in advice.reasons if r.severity is not Severity.INFO] == [(factor, kind)]


def test_isotretinoin_says_the_sources_disagree() -> None:
    advice = advise(KB, "microneedling", [], ["isotretinoin"], today=TODAY)
    assert "Sources disagree" in advice.reasons[0].message


@pytest.mark.parametrize("factor", ["sensitive-skin", "slow-healing"])
def test_lengthening_factors(factor: str) -> None:
    advice = advise(KB, "botox", visits("microneedling@2026-11-10"), [factor], today=TODAY)
    assert advice.earliest == date(2026, 12, 1)  # 14 + 7 days
    assert (advice.ideal_start, advice.ideal_end) == (date(2026, 12, 1), date(2026, 12, 8))


def test_no_factor_leaves_a_treatment_unexplained() -> None:
    for factor in KB.factors.values():
        for effect in factor.effects:
            assert effect.source and effect.message


def test_a_touch_up_counts_against_the_botox_before_it_not_one_booked_later() -> None:
    history = visits("botox@2026-08-20,botox-touch-up@2026-09-03")
    assert not advise(KB, "botox-touch-up", history, today=TODAY, on=date(2026, 12, 10)).allowed
    # A botox booked on 11 Dec starts a new treatment after the day asked about: the 10 Dec touch-up still
    # belongs to the August treatment, which has had its touch-up.
    later = [*history, PastVisit("botox", date(2026, 12, 11))]
    assert not advise(KB, "botox-touch-up", later, today=TODAY, on=date(2026, 12, 10)).allowed
    # After the new botox, one touch-up is fine again.
    assert advise(KB, "botox-touch-up", later, today=TODAY, on=date(2026, 12, 28)).allowed
