"""The advisor's algorithm on a small hand-built knowledge base; every expected date is written out."""

from datetime import date

import pytest

from safewindow.domain.advice import Severity, UnknownName, Verdict, advise
from safewindow.domain.history import PastVisit
from safewindow.domain.rules import Kind
from tests.unit.builders import small_kb

KB = small_kb()
TODAY = date(2026, 11, 25)


def visit(slug: str, day: str, area: str = "face") -> PastVisit:
    return PastVisit(slug, date.fromisoformat(day), area)


def test_the_seed_question() -> None:
    advice = advise(KB, "toxin", [visit("needling", "2026-11-10")], today=date(2026, 11, 11))
    assert (advice.earliest, advice.earliest_bookable) == (date(2026, 11, 24), date(2026, 11, 24))
    assert (advice.ideal_start, advice.ideal_end) == (date(2026, 11, 24), date(2026, 12, 8))
    assert [r.rule for r in advice.reasons] == ["needling-then-toxin"]


def test_earliest_is_not_clamped_to_today_but_bookable_is() -> None:
    advice = advise(KB, "toxin", [visit("needling", "2026-10-01")], today=TODAY)
    assert advice.earliest == date(2026, 10, 15)
    assert advice.earliest_bookable == TODAY


def test_no_history_means_today() -> None:
    advice = advise(KB, "toxin", [], today=TODAY)
    assert (advice.earliest, advice.ideal_start, advice.ideal_end) == (TODAY, None, None)


def test_the_latest_of_the_minimums_wins() -> None:
    history = [visit("needling", "2026-11-10"), visit("toxin", "2026-08-01")]
    # needling: 24 Nov; toxin repeat 90 days: 30 Oct. The later binds.
    assert advise(KB, "toxin", history, today=TODAY).earliest == date(2026, 11, 24)
    history = [visit("needling", "2026-11-10"), visit("toxin", "2026-09-01")]
    assert advise(KB, "toxin", history, today=TODAY).earliest == date(2026, 11, 30)  # 1 Sep + 90


def test_ideal_window_is_the_intersection() -> None:
    history = [visit("needling", "2026-11-10"), visit("toxin", "2026-08-20")]
    advice = advise(KB, "toxin", history, today=TODAY)
    # needling: 24 Nov - 8 Dec; toxin repeat: 18 Nov - 18 Dec. Both: 24 Nov - 8 Dec.
    assert (advice.ideal_start, advice.ideal_end) == (date(2026, 11, 24), date(2026, 12, 8))


def test_passed_and_disjoint_ideal_windows_are_said_not_invented() -> None:
    history = [visit("needling", "2026-11-10"), visit("toxin", "2026-06-01")]
    # toxin repeat window 30 Aug - 29 Sep has passed by 24 Nov: reported, not intersected.
    advice = advise(KB, "toxin", history, today=TODAY)
    assert (advice.ideal_start, advice.ideal_end) == (date(2026, 11, 24), date(2026, 12, 8))
    assert any("window ended on 2026-09-29" in r.message for r in advice.reasons)
    # A needling booked on 20 Jan asks toxin ideally 23 Dec - 6 Jan; the past needling 24 Nov - 8 Dec.
    advice = advise(KB, "toxin", [visit("needling", "2026-11-10"), visit("needling", "2027-01-20")], today=TODAY)
    assert advice.earliest == date(2026, 11, 24)
    assert advice.ideal_start is None and advice.ideal_end is None
    assert any(r.rule == "ideal-windows-disjoint" and r.severity is Severity.WARN for r in advice.reasons)


def test_a_visit_booked_later_constrains_the_proposed_date() -> None:
    history = [visit("needling", "2026-12-10")]
    advice = advise(KB, "toxin", history, today=TODAY, on=date(2026, 12, 1))
    assert advice.verdict is Verdict.BLOCK
    assert [r.rule for r in advice.reasons if r.severity is Severity.BLOCK] == ["toxin-then-needling"]
    assert "on or before 2026-11-26" in next(r.message for r in advice.reasons if r.severity is Severity.BLOCK)
    # 26 Nov is exactly 14 days before: allowed.
    assert advise(KB, "toxin", history, today=TODAY, on=date(2026, 11, 26)).verdict is not Verdict.BLOCK


def test_earliest_skips_the_run_a_later_visit_forbids() -> None:
    # Toxin before the booked needling must be by 26 Nov, after it from 24 Dec; today 27 Nov.
    advice = advise(KB, "toxin", [visit("needling", "2026-12-10")], today=date(2026, 11, 27))
    assert advice.earliest == date(2026, 12, 24)
    advice = advise(KB, "toxin", [visit("needling", "2026-12-10")], today=TODAY)
    assert advice.earliest == TODAY


def test_same_day_pairs() -> None:
    on = date(2026, 12, 1)
    both = advise(KB, "toxin", [visit("filler", "2026-12-01")], today=TODAY, on=on)
    assert both.verdict is Verdict.OK
    device = advise(KB, "toxin", [visit("device", "2026-12-01")], today=TODAY, on=on)
    assert device.verdict is Verdict.OK
    assert any("have device first" in r.message for r in device.reasons)
    # Needling and toxin both ways ask 14 days: never the same day.
    assert advise(KB, "toxin", [visit("needling", "2026-12-01")], today=TODAY, on=on).verdict is Verdict.BLOCK


def test_one_way_rule_allows_the_other_order_on_the_same_day() -> None:
    # filler-then-peel asks 7 days; nothing asks anything of peel then filler.
    history = [visit("filler", "2026-12-01")]
    assert advise(KB, "peel", history, today=TODAY, on=date(2026, 12, 1)).verdict is Verdict.OK
    assert advise(KB, "peel", history, today=TODAY, on=date(2026, 12, 2)).verdict is Verdict.BLOCK
    assert advise(KB, "peel", history, today=TODAY, on=date(2026, 12, 8)).verdict is not Verdict.BLOCK


def test_calendar_month_spans() -> None:
    advice = advise(KB, "monthly", [visit("monthly", "2027-01-31")], today=date(2027, 2, 1))
    assert advice.earliest == date(2027, 2, 28)
    assert (advice.ideal_start, advice.ideal_end) == (date(2027, 2, 28), date(2027, 3, 31))
    leap = advise(KB, "monthly", [visit("monthly", "2028-01-30")], today=date(2028, 2, 1))
    assert leap.earliest == date(2028, 2, 29)


def test_session_limits() -> None:
    history = [visit("monthly", d) for d in ("2026-01-05", "2026-02-05", "2026-03-05")]
    advice = advise(KB, "monthly", history, today=TODAY)
    assert not advice.allowed and advice.earliest is None
    assert advice.reasons[0].rule == "monthly-course" and advice.reasons[0].kind is Kind.HARD
    once = [visit("toxin", "2026-11-01"), visit("touchup", "2026-11-15")]
    assert not advise(KB, "touchup", once, today=TODAY).allowed
    # A new full treatment starts a new count, from its own day: not for a day before it.
    again = [*once, visit("toxin", "2027-02-01")]
    assert not advise(KB, "touchup", again, today=TODAY).allowed
    assert advise(KB, "touchup", again, today=TODAY, on=date(2027, 2, 20)).allowed


def test_maximum_warns_never_blocks() -> None:
    history = [visit("toxin", "2026-11-01")]
    late = advise(KB, "touchup", history, today=TODAY, on=date(2026, 12, 5))
    assert late.verdict is Verdict.WARN
    assert any("maximum" in r.message and r.severity is Severity.WARN for r in late.reasons)


def test_outside_the_ideal_window_warns() -> None:
    history = [visit("needling", "2026-11-10")]
    assert advise(KB, "toxin", history, today=TODAY, on=date(2026, 12, 8)).verdict is Verdict.OK
    assert advise(KB, "toxin", history, today=TODAY, on=date(2026, 12, 9)).verdict is Verdict.WARN
    assert advise(KB, "toxin", history, today=TODAY, on=date(2026, 11, 23)).verdict is Verdict.BLOCK


def test_factors_block_warn_and_lengthen() -> None:
    history = [visit("needling", "2026-11-10")]
    pregnant = advise(KB, "toxin", history, ["pregnant"], today=TODAY, on=date(2026, 12, 1))
    assert not pregnant.allowed and pregnant.earliest is None and pregnant.verdict is Verdict.BLOCK
    assert not pregnant.overridable
    assert advise(KB, "peel", [], ["pregnant"], today=TODAY).reasons[0].kind is Kind.SOFT
    thinners = advise(KB, "toxin", history, ["thinners"], today=TODAY, on=date(2026, 12, 1))
    assert thinners.allowed and thinners.verdict is Verdict.WARN
    slow = advise(KB, "toxin", history, ["slow"], today=TODAY)
    assert slow.earliest == date(2026, 12, 1)  # 14 + 7 days
    assert (slow.ideal_start, slow.ideal_end) == (date(2026, 12, 1), date(2026, 12, 8))
    # The longest extension applies, not the sum.
    both = advise(KB, "toxin", history, ["slow", "sensitive"], today=TODAY)
    assert both.earliest == date(2026, 12, 1)
    # Lengthening acts on skin recovery only: toxin then needling is about the toxin settling.
    assert advise(KB, "needling", [visit("toxin", "2026-11-10")], ["slow"], today=TODAY).earliest == date(2026, 11, 24)


def test_areas() -> None:
    elsewhere = [visit("needling", "2026-11-10", area="neck")]
    assert advise(KB, "toxin", elsewhere, today=TODAY).earliest == TODAY
    # The toxin repeat is systemic: it counts whatever the area.
    body = [visit("toxin", "2026-11-10", area="underarms")]
    assert advise(KB, "toxin", body, today=TODAY).earliest == date(2027, 2, 8)


def test_unknown_names_suggest_a_close_match() -> None:
    with pytest.raises(UnknownName, match="did you mean toxin"):
        advise(KB, "toxn", [], today=TODAY)
    with pytest.raises(UnknownName, match="did you mean pregnant"):
        advise(KB, "toxin", [], ["pregnnt"], today=TODAY)


def test_json_contract() -> None:
    advice = advise(KB, "toxin", [visit("needling", "2026-11-10")], today=TODAY, on=date(2026, 11, 20))
    data = advice.as_dict()
    assert list(data) == [
        "treatment",
        "allowed",
        "earliest",
        "earliest_bookable",
        "ideal_start",
        "ideal_end",
        "verdict",
        "reasons",
    ]
    assert data["earliest"] == "2026-11-24" and data["verdict"] == "block"
    assert set(data["reasons"][0]) == {"rule", "kind", "severity", "message", "evidence", "source"}
    assert "verdict" not in advise(KB, "toxin", [], today=TODAY).as_dict()
