from datetime import date

import pytest

from safewindow.domain.spans import Span, add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_calendar_months_clamp_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_days_count_calendar_days_across_month_and_year_ends() -> None:
    assert Span(days=14).after(date(2026, 12, 25)) == date(2027, 1, 8)
    assert Span(days=14).after(date(2028, 2, 20)) == date(2028, 3, 5)  # through 29 Feb
    assert Span(days=14).before(date(2027, 1, 8)) == date(2026, 12, 25)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 2, 28), date(2026, 1, 31)),  # 28, 29, 30 and 31 Jan + 1 month all give 28 Feb
        (date(2026, 3, 15), date(2026, 2, 15)),
        (date(2028, 2, 29), date(2028, 1, 31)),
    ],
)
def test_before_is_the_last_day_a_month_later_still_fits(day: date, expected: date) -> None:
    span = Span(months=1)
    assert span.before(day) == expected
    assert span.after(expected) <= day
    assert span.after(date.fromordinal(expected.toordinal() + 1)) > day


@pytest.mark.parametrize(
    ("text", "span"),
    [
        (14, Span(days=14)),
        ("14 days", Span(days=14)),
        ("1 month", Span(months=1)),
        ("6 months", Span(months=6)),
    ],
)
def test_parse(text: str | int, span: Span) -> None:
    assert Span.parse(text) == span


@pytest.mark.parametrize("text", ["two weeks", "-3 days", "3 fortnights", ""])
def test_parse_rejects_what_is_not_a_span(text: str) -> None:
    with pytest.raises(ValueError, match=r"span|unit"):
        Span.parse(text)
