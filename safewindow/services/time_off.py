"""A practitioner's time off, managed by a clinic's administrator: one transaction per change, each audited.

Time off belongs to the person, not the clinic: one person, one place, so it applies at every clinic where they
work, and adding it is refused, listing every booked visit from now on that falls in it at any clinic (move or
cancel those first). An administrator manages the time off of practitioners who work at their clinic. The
reason is for the staff only and may be health information, so the audit log keeps ids and times, never the
reason. Times are instants in UTC here; people give the clinic's local days and times (`local_span`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.services.admin import hold_practitioner, refuse_stranded, working_hours
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import InputError, NotFound
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

LONGEST_TIME_OFF = timedelta(days=366)
LONGEST_REASON = 200
# Where a problem with the span shows when it was given as local days (add_local_time_off).
LOCAL_FIELDS = {"start": "first_day", "end": "last_day"}


def clinic_of(session: Session, clinic_id: int, practitioner_id: int) -> models.Clinic:
    """The clinic, if the practitioner works there (has hours there); NotFound otherwise."""
    if not working_hours(session, clinic_id, practitioner_id):
        raise NotFound("practitioner", f"practitioner {practitioner_id} does not work at clinic {clinic_id}")
    return get_clinic(session, clinic_id)


def upcoming_time_off(session: Session, practitioner_id: int, *, now: datetime) -> list[models.TimeOff]:
    """Their time off that has not ended by `now`, earliest first."""
    query = select(models.TimeOff).where(models.TimeOff.practitioner_id == practitioner_id, models.TimeOff.end_at > now)
    return list(session.scalars(query.order_by(models.TimeOff.start_at)))


def time_off_row(entry: models.TimeOff, zone_name: str) -> dict[str, Any]:
    """As the API and the CLI show it: local times with their UTC offset; the end is the first moment back."""
    zone = clinic_zone(zone_name)
    return {
        "id": entry.id,
        "start": entry.start_at.astimezone(zone).isoformat(),
        "end": entry.end_at.astimezone(zone).isoformat(),
        "reason": entry.reason,
    }


def _local(day: date, at: time, zone: ZoneInfo, field: str) -> datetime:
    local = datetime.combine(day, at, tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise InputError(field, f"{at:%H:%M} on {day} does not exist in {zone.key}: the clocks skipped that hour")
    return local.astimezone(UTC)


def local_span(
    first_day: date, last_day: date, start_time: time | None, end_time: time | None, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """[start, end) in UTC from the clinic's local days: from `start_time` on the first day (its midnight when
    omitted) until `end_time` on the last day (the midnight after it when omitted). Each bound is a wall-clock
    time in the zone, so whole days stay whole when the clocks change (a day is then 23 or 25 hours, never
    midnight plus 24 hours)."""
    if last_day < first_day:
        raise InputError("last_day", f"{last_day} is before the first day, {first_day}")
    start = _local(first_day, start_time or time(0), zone, "start_time")
    if end_time is None:
        return start, _local(last_day + timedelta(days=1), time(0), zone, "last_day")
    end = _local(last_day, end_time, zone, "end_time")
    if end <= start:
        raise InputError("end_time", f"{end_time:%H:%M} on {last_day} is not after the start")
    return start, end


def _shown(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M}"


def _audit(session: Session, actor: str, action: str, clinic_id: int, entry: models.TimeOff) -> None:
    detail = {
        "clinic_id": clinic_id,
        "time_off": entry.id,
        "start": entry.start_at.astimezone(UTC).isoformat(),
        "end": entry.end_at.astimezone(UTC).isoformat(),
    }
    session.add(
        models.AuditEntry(
            actor=actor, action=action, entity="practitioner", entity_id=str(entry.practitioner_id), detail=detail
        )
    )


def _checked_span(start: datetime, end: datetime, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    for instant, field in ((start, "start"), (end, "end")):
        if instant.tzinfo is None:
            raise InputError(field, f"{instant:%Y-%m-%d %H:%M} needs its time zone")
    if end <= start:
        raise InputError("end", f"{_shown(end, zone)} is not after the start, {_shown(start, zone)}")
    if end <= now:
        raise InputError("end", f"{_shown(end, zone)} has passed")
    if end - start > LONGEST_TIME_OFF:
        raise InputError("end", "time off may last a year at most")
    return start.astimezone(UTC), end.astimezone(UTC)


def add_time_off(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    practitioner_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> models.TimeOff:
    """Time off from `start` to `end` (aware datetimes), for a practitioner who works at this clinic."""
    now = now or now_utc()
    reason = reason.strip()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        clinic = clinic_of(session, clinic_id, practitioner_id)
        zone = clinic_zone(clinic.time_zone)
        start, end = _checked_span(start, end, now, zone)
        if len(reason) > LONGEST_REASON:
            raise InputError("reason", f"keep the reason to {LONGEST_REASON} characters")
        # Every booking of theirs, at any clinic, takes this row: one racing with this change has either
        # committed (and is seen below) or waits and then sees the time off. Two changes of their time off wait
        # for each other too, so neither misses the other's overlap.
        hold_practitioner(session, practitioner_id)
        overlapping = session.scalars(
            select(models.TimeOff)
            .where(
                models.TimeOff.practitioner_id == practitioner_id,
                models.TimeOff.start_at < end,
                models.TimeOff.end_at > start,
            )
            .order_by(models.TimeOff.start_at)
        ).first()
        if overlapping is not None:
            raise InputError(
                "start",
                f"they are off already from {_shown(overlapping.start_at, zone)} to {_shown(overlapping.end_at, zone)}",
            )
        # From now on, as every admin change: a visit already over is not stranded by a change.
        inside = session.scalars(
            select(models.Visit)
            .options(selectinload(models.Visit.clinic))
            .where(
                models.Visit.practitioner_id == practitioner_id,
                models.Visit.status == models.VisitStatus.BOOKED,
                models.Visit.start_at < end,
                models.Visit.end_at > max(start, now),
            )
            .order_by(models.Visit.start_at)
        )
        refuse_stranded(inside, "visit-in-time-off", "is booked with them during the time off")
        entry = models.TimeOff(practitioner_id=practitioner_id, start_at=start, end_at=end, reason=reason)
        session.add(entry)
        session.flush()
        _audit(session, actor, "practitioner.time-off-added", clinic_id, entry)
        uow.commit()
        return entry


def add_local_time_off(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    practitioner_id: int,
    first_day: date,
    last_day: date,
    start_time: time | None = None,
    end_time: time | None = None,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> models.TimeOff:
    """`add_time_off` for the clinic's local days and times (see `local_span`), as the forms and the API take
    them: a problem with the span names the field they gave."""
    with UnitOfWork(session_factory) as uow:
        zone = clinic_zone(clinic_of(uow.session, clinic_id, practitioner_id).time_zone)
    start, end = local_span(first_day, last_day, start_time, end_time, zone)
    try:
        return add_time_off(
            session_factory,
            clinic_id=clinic_id,
            practitioner_id=practitioner_id,
            start=start,
            end=end,
            reason=reason,
            actor=actor,
            now=now,
        )
    except NotFound:
        raise
    except InputError as error:
        if error.field not in LOCAL_FIELDS:
            raise
        raise InputError(LOCAL_FIELDS[error.field], error.problem) from None


def remove_time_off(
    session_factory: sessionmaker[Session], *, clinic_id: int, practitioner_id: int, time_off_id: int, actor: str
) -> None:
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        clinic_of(session, clinic_id, practitioner_id)
        entry = session.get(models.TimeOff, time_off_id)
        if entry is None or entry.practitioner_id != practitioner_id:
            raise NotFound("time_off", f"no time off {time_off_id} of practitioner {practitioner_id}")
        _audit(session, actor, "practitioner.time-off-removed", clinic_id, entry)
        session.delete(entry)
        uow.commit()
