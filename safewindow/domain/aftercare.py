"""Aftercare for one visit: day by day, on calendar days in the clinic's zone (day 0 = the visit day), and
the days the patient gets an aftercare e-mail.

Pure: the treatment's aftercare comes from the knowledge base, the visit's start and the clinic's zone from the
caller. Local send times are built on each day's own calendar, so a clock change between the visit and a
later day (BC's last one: 8 March 2026) moves the UTC instant, not the local hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from safewindow.domain.treatments import AftercareStep, Treatment

# Aftercare is about healing. A step that begins later than this (Botox wearing off at 3-4 months) says when
# to come back, which is the recall's business, so it gets no aftercare e-mail.
RECOVERY_DAYS = 30
EMAIL_DAYS = (0, 1, 3)  # and the day the last recovery step ends
EVENING = time(19, 0)  # day 0: after the visit, once the first hours' instructions matter
MORNING = time(9, 0)  # later days: in time to plan the day around them
AFTER_VISIT = timedelta(hours=1)  # a late visit's day-0 e-mail waits until it is over
CALL_NOW = "Call the clinic now if you notice any of these (or 911 where it says so):"
# Filler can block a blood vessel; the patient must read plainly that this is an emergency. The knowledge base
# says so for every filler; this stands in should a filler ever arrive without it.
VASCULAR_OCCLUSION = (
    "Blanching (skin turning white or very pale), severe or worsening pain, dusky, blue-grey or mottled skin, "
    "or any change in your vision: call the clinic or emergency services (911) at once. These can mean the "
    "filler is blocking a blood vessel, which needs treatment straight away."
)
EMERGENCY_WORDS = "emergency services"


@dataclass(frozen=True, slots=True)
class AftercareDay:
    day: int  # 0 = the visit day
    date: date  # in the clinic's zone
    expect: tuple[str, ...]
    do: tuple[str, ...]
    avoid: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AftercareEmail:
    day: int
    date: date
    send_at: datetime  # local, in the clinic's zone
    last: bool  # the day the last recovery step ends


@dataclass(frozen=True, slots=True)
class AftercareTimeline:
    treatment: str  # slug
    name: str
    start: datetime  # the visit's start, local in the clinic's zone
    end: datetime  # and its end
    days: tuple[AftercareDay, ...]  # only days some step covers, in order
    warning_signs: tuple[str, ...]
    source: str
    recovery_ends: int  # the day the last recovery step ends

    @property
    def zone(self) -> ZoneInfo:
        assert isinstance(self.start.tzinfo, ZoneInfo)
        return self.start.tzinfo

    def on(self, day: int) -> AftercareDay | None:
        return next((d for d in self.days if d.day == day), None)

    def emails(self) -> tuple[AftercareEmail, ...]:
        """Day 0 in the evening (or an hour after a late visit), days 1 and 3, and the day recovery ends, each
        only if some step covers it."""
        wanted = sorted({*(d for d in EMAIL_DAYS if d <= self.recovery_ends), self.recovery_ends})
        emails = []
        for day in wanted:
            covered = self.on(day)
            if covered is None:
                continue
            send_at = datetime.combine(covered.date, EVENING if day == 0 else MORNING, tzinfo=self.zone)
            if day == 0:
                send_at = max(send_at, (self.end.astimezone(UTC) + AFTER_VISIT).astimezone(self.zone))
            emails.append(AftercareEmail(day, covered.date, send_at, day == self.recovery_ends))
        return tuple(emails)


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _day(number: int, on: date, steps: tuple[AftercareStep, ...]) -> AftercareDay:
    return AftercareDay(
        number,
        on,
        _unique([s.expect for s in steps]),
        _unique([item for s in steps for item in s.do]),
        _unique([item for s in steps for item in s.avoid]),
    )


def warning_signs(treatment: Treatment) -> tuple[str, ...]:
    signs = treatment.aftercare.warning_signs
    if treatment.category == "filler" and not any(EMERGENCY_WORDS in s for s in signs):
        return (VASCULAR_OCCLUSION, *signs)
    return signs


def aftercare_timeline(
    treatment: Treatment, start: datetime, zone: ZoneInfo, end: datetime | None = None
) -> AftercareTimeline:
    """The visit's aftercare, day by day. `start` (and `end`, the treatment's usual duration later if not given)
    are aware instants; days are counted in `zone`."""
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise ValueError("the visit's start and end must be timezone-aware")
    local = start.astimezone(zone)
    end = end or start.astimezone(UTC) + timedelta(minutes=treatment.duration_minutes)
    visit_day = local.date()
    steps = treatment.aftercare.steps
    last = max((s.last_day for s in steps), default=0)
    days = []
    for number in range(last + 1):
        covering = treatment.aftercare.for_day(number)
        if covering:
            days.append(_day(number, visit_day + timedelta(days=number), covering))
    recovery = [s.last_day for s in steps if s.first_day <= RECOVERY_DAYS]
    return AftercareTimeline(
        treatment=treatment.slug,
        name=treatment.name,
        start=local,
        end=end.astimezone(zone),
        days=tuple(days),
        warning_signs=warning_signs(treatment),
        source=treatment.aftercare.source,
        recovery_ends=max(recovery, default=0),
    )
