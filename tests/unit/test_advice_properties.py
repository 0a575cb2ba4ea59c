"""What must always hold of the advisor, whatever the history (Hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from safewindow.domain.advice import Verdict, advise
from safewindow.domain.history import PastVisit
from safewindow.knowledge.loader import default_knowledge_base

KB = default_knowledge_base()
SLUGS = sorted(KB.treatments)
days = st.dates(min_value=date(2025, 11, 1), max_value=date(2027, 6, 30))
visits = st.builds(PastVisit, st.sampled_from(SLUGS), days, st.sampled_from(["face", "face", "neck"]))
histories = st.lists(visits, max_size=8)
wanted = st.sampled_from(SLUGS)
todays = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 1, 31))


@settings(max_examples=150, deadline=None)
@given(wanted, histories, todays)
def test_earliest_bookable_is_the_first_day_not_blocked(treatment: str, history: list[PastVisit], today: date) -> None:
    advice = advise(KB, treatment, history, today=today)
    if not advice.allowed:
        assert advice.earliest is None and advice.earliest_bookable is None
        return
    assert advice.earliest is not None and advice.earliest_bookable is not None
    assert advice.earliest_bookable >= today
    for day in (advice.earliest, advice.earliest_bookable):
        assert advise(KB, treatment, history, today=today, on=day).verdict is not Verdict.BLOCK
    day = today
    while day < advice.earliest_bookable:
        # Every day skipped is refused by some rule: the minimum that binds is really binding.
        assert advise(KB, treatment, history, today=today, on=day).verdict is Verdict.BLOCK
        day += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(wanted, histories, visits, todays)
def test_adding_history_never_moves_earliest_earlier(
    treatment: str, history: list[PastVisit], extra: PastVisit, today: date
) -> None:
    before = advise(KB, treatment, history, today=today)
    after = advise(KB, treatment, [*history, extra], today=today)
    if before.allowed and after.allowed:
        assert before.earliest is not None and after.earliest is not None
        assert after.earliest_bookable is not None and before.earliest_bookable is not None
        assert after.earliest_bookable >= before.earliest_bookable
        # With no rule binding, earliest defaults to today; once a past minimum binds it (a date before
        # today), more history can only push it later.
        if before.earliest < today:
            assert after.earliest >= before.earliest


@settings(max_examples=200, deadline=None)
@given(wanted, histories, todays, st.sampled_from(["sensitive-skin", "slow-healing"]))
def test_lengthening_factors_never_shorten_a_wait(
    treatment: str, history: list[PastVisit], today: date, factor: str
) -> None:
    plain = advise(KB, treatment, history, today=today)
    lengthened = advise(KB, treatment, history, [factor], today=today)
    assert plain.allowed is lengthened.allowed  # lengthening changes waits, never whether
    if not plain.allowed:
        return
    assert plain.earliest is not None and lengthened.earliest is not None
    assert lengthened.earliest >= plain.earliest
    assert lengthened.earliest_bookable is not None and plain.earliest_bookable is not None
    assert lengthened.earliest_bookable >= plain.earliest_bookable


@settings(max_examples=150, deadline=None)
@given(wanted, histories, todays)
def test_the_ideal_window_lies_within_allowed_days(treatment: str, history: list[PastVisit], today: date) -> None:
    advice = advise(KB, treatment, history, today=today)
    if advice.ideal_start is not None:
        assert advice.ideal_end is not None and advice.earliest is not None
        assert advice.earliest <= advice.ideal_start <= advice.ideal_end
