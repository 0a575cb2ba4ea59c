"""A patient's visits as the advisor sees them: what, which calendar day in the clinic's zone, where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_AREA = "face"


@dataclass(frozen=True, slots=True)
class PastVisit:
    """A done or booked visit. `day` is the calendar day in the clinic's zone: day rules count those."""

    treatment: str
    day: date
    area: str = DEFAULT_AREA


def clinic_day(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar day an aware instant falls on in the clinic's zone."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(zone).date()
