"""Times as people give them and read them: wall-clock times in the clinic's zone, to and from UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from safewindow.clock import clinic_zone
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


def short_local(instant: datetime, zone_name: str) -> str:
    """The instant as the clinic's wall clock shows it, briefly: "Tue 1 Dec at 10:00"."""
    return instant.astimezone(clinic_zone(zone_name)).strftime("%a %-d %b at %H:%M")
