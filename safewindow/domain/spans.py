"""Spans of calendar time between two visits: whole days, or calendar months (Kybella's label counts months)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Span:
    days: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        if self.days < 0 or self.months < 0:
            raise ValueError("a span cannot be negative")

    @classmethod
    def parse(cls, text: str | int) -> Span:
        """`14`, `"14 days"`, `"1 month"`, `"6 months"`."""
        if isinstance(text, int):
            return cls(days=text)
        number, _, unit = text.strip().partition(" ")
        if not number.isdigit():
            raise ValueError(f"{text!r} is not a span such as '14 days' or '1 month'")
        unit = unit.strip() or "days"
        if unit in ("day", "days"):
            return cls(days=int(number))
        if unit in ("month", "months"):
            return cls(months=int(number))
        raise ValueError(f"{text!r}: the unit must be days or months")

    def after(self, day: date) -> date:
        """The first day this span after `day`."""
        if not self.months:
            return day + timedelta(days=self.days)
        return add_months(day, self.months) + timedelta(days=self.days)

    # The advisor's hot path works on day ordinals; day-only spans (nearly all rules) are plain arithmetic.
    def after_ordinal(self, ordinal: int) -> int:
        if not self.months:
            return ordinal + self.days
        return self.after(date.fromordinal(ordinal)).toordinal()

    def before_ordinal(self, ordinal: int) -> int:
        if not self.months:
            return ordinal - self.days
        return self.before(date.fromordinal(ordinal)).toordinal()

    def before(self, day: date) -> date:
        """The last day `d` with `self.after(d) <= day`."""
        if not self.months:
            return day - timedelta(days=self.days)
        candidate = add_months(day, -self.months) - timedelta(days=self.days)
        # Month-end clamping makes `after` many-to-one (28, 29, 30 and 31 Jan + 1 month all give 28 Feb),
        # so the subtraction may land early: step on while the next day still fits.
        while self.after(candidate + timedelta(days=1)) <= day:
            candidate += timedelta(days=1)
        return candidate

    def lengthened(self, extra_days: int) -> Span:
        return Span(days=self.days + extra_days, months=self.months) if extra_days else self

    def shortest_days(self) -> int:
        """The fewest days this span can be (a month as 28): for consistency checks, never for dates."""
        return self.days + 28 * self.months

    def longest_days(self) -> int:
        return self.days + 31 * self.months

    def __str__(self) -> str:
        parts = []
        if self.months:
            parts.append(f"{self.months} month{'s' if self.months != 1 else ''}")
        if self.days or not self.months:
            parts.append(f"{self.days} day{'s' if self.days != 1 else ''}")
        return " and ".join(parts)
