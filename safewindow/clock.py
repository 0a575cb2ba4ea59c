"""Time at the clinic. Instants are stored in UTC; day rules count calendar days in the clinic's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "America/Vancouver"


def clinic_zone(name: str = DEFAULT_ZONE) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the database, or a long name
        shown = name if len(name) <= 60 else f"{name[:60]}..."
        raise ValueError(f"{shown!r} is not a known time zone") from None


def now_utc() -> datetime:
    return datetime.now(UTC)


def clinic_today(zone: ZoneInfo) -> date:
    return now_utc().astimezone(zone).date()
