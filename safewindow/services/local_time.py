"""Times as people give them: wall-clock times in the clinic's zone, turned into UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from safewindow.services.advice import FIRST_DAY, LAST_DAY
from safewindow.services.errors import InputError


def parse_local_time(text: str, zone: ZoneInfo, field: str = "at") -> datetime:
    """`YYYY-MM-DDTHH:MM` on the clinic's clock. A time the clocks skipped (a spring change, before BC's
    permanent UTC-7) is refused; in a repeated hour the first one is meant."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M")  # noqa: DTZ007  (the zone is attached next)
    except ValueError:
        raise InputError(field, f"{text!r} is not a local time in YYYY-MM-DDTHH:MM form") from None
    if not FIRST_DAY <= naive.date() <= LAST_DAY:
        window = f"{FIRST_DAY} to {LAST_DAY}"
        raise InputError(field, f"{text.strip()} is outside the dates safewindow works with ({window})")
    local = naive.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise InputError(field, f"{text} does not exist in {zone.key}: the clocks skipped that hour")
    return local.astimezone(UTC)
