"""A clinic administrator's use cases: the clinic's name, address and telephone number, opening hours, closures,
who works there and when, and the clinic's adjustments to the timing rules. One transaction each, every change
audited with what it was before.

A change never strands a booked visit: new hours, a closure or a practitioner leaving the clinic is refused,
listing every booked visit from now on that it would leave outside the clinic's or the practitioner's time
(move or cancel those first). Each takes the rows a booking there locks before it looks, so a booking racing with
it is either seen or sees the change. Which clinic an administrator may change is the interface's business; these
functions take the clinic's id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.adjustments import (
    AdjustmentRefused,
    RuleAdjustment,
    adjusted,
    apply,
    check_changes,
    fields_of,
    value_of,
)
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule, SessionLimit
from safewindow.services.clinic_setup import adjustment_log, clinic_setup, rule_adjustments_of
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import FieldProblems, InputError, NotFound
from safewindow.services.phone_numbers import is_telephone_number
from safewindow.store import models
from safewindow.store.settings_models import RuleAdjustment as AdjustmentRow
from safewindow.store.unit_of_work import UnitOfWork

LONGEST_CLOSURE = timedelta(days=366)
# E-mail subjects name the clinic ("Reminder: your visit at ... in about two hours") and hold 200 characters, so
# the name stays short of the column's 200.
NAME_LONGEST = 150
ADDRESS_LONGEST = 500
PHONE_LONGEST = 32  # the column


@dataclass(frozen=True, slots=True, order=True)
class Shift:
    """Local wall-clock time on one weekday (Monday is 0)."""

    weekday: int
    start: time
    end: time

    def as_dict(self) -> dict[str, object]:
        return {"weekday": self.weekday, "start": self.start.isoformat("minutes"), "end": self.end.isoformat("minutes")}


class RuleChangeRefused(FieldProblems):
    """Every field of a rule change at fault."""


def _audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    *,
    at: datetime | None = None,
    **detail: object,
) -> None:
    entry = models.AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id), detail=detail)
    if at is not None:  # otherwise the column's default: now
        entry.at = at
    session.add(entry)


def _checked(shifts: Iterable[Shift], field: str = "hours") -> list[Shift]:
    result = sorted(set(shifts))
    for shift in result:
        if not 0 <= shift.weekday <= 6:
            raise InputError(field, f"weekday {shift.weekday} is not 0 (Monday) to 6 (Sunday)")
        if shift.start >= shift.end:
            raise InputError(field, f"on weekday {shift.weekday}, {shift.start:%H:%M} is not before {shift.end:%H:%M}")
    for earlier, later in pairwise(result):
        if earlier.weekday == later.weekday and later.start < earlier.end:
            raise InputError(field, f"on weekday {later.weekday}, {later.start:%H:%M} overlaps the shift before it")
    return result


def _within(local_start: datetime, local_end: datetime, shifts: Sequence[Shift]) -> bool:
    """Whether a visit (local times) lies wholly within one shift of its weekday."""
    day_end = local_end.time() if local_end.date() == local_start.date() else time.max
    return any(
        s.weekday == local_start.weekday() and s.start <= local_start.time() and day_end <= s.end for s in shifts
    )


def _booked_from_now(
    session: Session, clinic_id: int, now: datetime, practitioner_id: int | None = None
) -> list[models.Visit]:
    query = select(models.Visit).where(
        models.Visit.clinic_id == clinic_id,
        models.Visit.status == models.VisitStatus.BOOKED,
        models.Visit.end_at > now,
    )
    if practitioner_id is not None:
        query = query.where(models.Visit.practitioner_id == practitioner_id)
    return list(session.scalars(query.order_by(models.Visit.start_at)))


def hold_clinic(session: Session, clinic_id: int) -> None:
    """Take the clinic's row for this transaction, as every booking there does first: a change that must not
    strand a booked visit then sees each booking that got there before it, and a booking after it waits and
    then reads the new setup (services/clinic_view.py reads the setup's version after its locks)."""
    session.execute(select(models.Clinic.id).where(models.Clinic.id == clinic_id).with_for_update())


def hold_practitioner(session: Session, practitioner_id: int) -> None:
    """Take the practitioner's row, as every booking at a clinic where they work does (after the clinic's):
    for a change to their time wherever they work. Take the clinic's first when both are needed."""
    session.execute(select(models.Practitioner.id).where(models.Practitioner.id == practitioner_id).with_for_update())


def refuse_stranded(visits: Iterable[models.Visit], code: str, why: str) -> None:
    """Refused, as a booking is, listing each visit with its clinic and its time there: a practitioner may work
    at several clinics, and whoever moves the visit needs to know whose diary it is in. Imported here: booking
    imports this module (for the clinic's rules), so this module may not import booking as it loads."""
    from safewindow.services.booking import Problem, Refused

    problems = [
        Problem(
            code,
            f"Visit {v.id} at {v.clinic.name} at {v.start_at.astimezone(clinic_zone(v.clinic.time_zone)).isoformat()}"
            f" {why}; move or cancel it first.",
        )
        for v in visits
    ]
    if problems:
        raise Refused(problems)


@dataclass(frozen=True, slots=True)
class ClinicDetails:
    """What patients are told of the clinic: in its e-mails, its text reminders, and when a visit is too close
    to change online (then they are asked to call the number)."""

    name: str
    address: str  # may span lines
    phone: str  # as the clinic writes it; "" when it gives none

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "phone": self.phone}


def clinic_details(session: Session, clinic_id: int) -> ClinicDetails:
    clinic = get_clinic(session, clinic_id)
    return ClinicDetails(clinic.name, clinic.address, clinic.phone or "")


def _checked_details(name: str, address: str, phone: str) -> ClinicDetails:
    name, phone = name.strip(), phone.strip()
    address = "\n".join(line.strip() for line in address.splitlines() if line.strip())
    problems = []
    if not name:
        problems.append(("name", "give the clinic's name"))
    elif len(name) > NAME_LONGEST:
        problems.append(("name", f"{NAME_LONGEST} characters at most"))
    elif "\n" in name or "\r" in name:
        problems.append(("name", "give the name on one line: e-mail subjects show it"))
    if not address:
        problems.append(("address", "give the clinic's address; patients see it in every e-mail"))
    elif len(address) > ADDRESS_LONGEST:
        problems.append(("address", f"{ADDRESS_LONGEST} characters at most"))
    if len(phone) > PHONE_LONGEST:
        problems.append(("phone", f"{PHONE_LONGEST} characters at most"))
    elif phone and not is_telephone_number(phone):
        hint = "" if phone.startswith("+") else " (another country's needs its +code)"
        problems.append(("phone", f"{phone!r} is not a valid telephone number{hint}"))
    if problems:
        raise FieldProblems(problems)
    return ClinicDetails(name, address, phone)


def set_clinic_details(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    name: str,
    address: str,
    phone: str,
    actor: str,
    now: datetime | None = None,
) -> ClinicDetails:
    """Change the clinic's name, address and telephone number (an empty number removes it); refused with every
    field at fault, before anything is written. The number is kept as typed, since patients read it as written.
    The clinics table bumps the configuration version (migration 0008), so the setup kept in memory, which
    holds the name, is read again by the next booking; mail reads the clinic's row itself."""
    after = _checked_details(name, address, phone)
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        before = clinic_details(session, clinic_id)
        if after != before:
            clinic = get_clinic(session, clinic_id)
            clinic.name, clinic.address, clinic.phone = after.name, after.address, after.phone or None
            _audit(
                session,
                actor,
                "clinic.details-changed",
                "clinic",
                clinic_id,
                at=now,
                before=before.as_dict(),
                after=after.as_dict(),
            )
            uow.commit()
    return after


def opening_hours(session: Session, clinic_id: int) -> list[Shift]:
    clinic = get_clinic(session, clinic_id)
    return sorted(Shift(h.weekday, h.opens, h.closes) for h in clinic.hours)


def set_opening_hours(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    hours: Iterable[Shift],
    actor: str,
    now: datetime | None = None,
) -> list[Shift]:
    """Replace the clinic's weekly opening hours."""
    shifts = _checked(hours)
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        clinic = get_clinic(session, clinic_id)
        before = opening_hours(session, clinic_id)
        zone = clinic_zone(clinic.time_zone)
        outside = [
            v
            for v in _booked_from_now(session, clinic_id, now)
            if not _within(v.start_at.astimezone(zone), v.end_at.astimezone(zone), shifts)
        ]
        refuse_stranded(outside, "visit-outside-hours", "would fall outside the new opening hours")
        clinic.hours.clear()
        session.flush()
        clinic.hours.extend(models.ClinicHours(weekday=s.weekday, opens=s.start, closes=s.end) for s in shifts)
        _audit(
            session,
            actor,
            "clinic.hours-changed",
            "clinic",
            clinic_id,
            before=[s.as_dict() for s in before],
            after=[s.as_dict() for s in shifts],
        )
        uow.commit()
    return shifts


def closures(session: Session, clinic_id: int) -> list[models.ClinicClosure]:
    clinic = get_clinic(session, clinic_id)
    return sorted(clinic.closures, key=lambda c: c.first_day)


def add_closure(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    first_day: date,
    last_day: date,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> models.ClinicClosure:
    """Close the clinic from `first_day` to `last_day` inclusive (its calendar days)."""
    now = now or now_utc()
    reason = reason.strip()
    if not reason:
        raise InputError("reason", "say why the clinic is closed; patients see it")
    if last_day < first_day:
        raise InputError("last_day", f"{last_day} is before the first day, {first_day}")
    if last_day - first_day >= LONGEST_CLOSURE:
        raise InputError("last_day", "a closure may last a year at most")
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        clinic = get_clinic(session, clinic_id)
        zone = clinic_zone(clinic.time_zone)
        if last_day < now.astimezone(zone).date():
            raise InputError("last_day", f"{last_day} has passed")
        if any(c.first_day == first_day for c in clinic.closures):
            raise InputError("first_day", f"a closure starting on {first_day} exists already")
        inside = [
            v
            for v in _booked_from_now(session, clinic_id, now)
            if first_day <= v.start_at.astimezone(zone).date() <= last_day
        ]
        refuse_stranded(inside, "visit-in-closure", "falls within the closure")
        closure = models.ClinicClosure(clinic_id=clinic_id, first_day=first_day, last_day=last_day, reason=reason)
        session.add(closure)
        session.flush()
        _audit(
            session,
            actor,
            "clinic.closure-added",
            "clinic",
            clinic_id,
            closure=closure.id,
            first_day=first_day.isoformat(),
            last_day=last_day.isoformat(),
        )
        uow.commit()
        return closure


def remove_closure(session_factory: sessionmaker[Session], *, clinic_id: int, closure_id: int, actor: str) -> None:
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        closure = session.get(models.ClinicClosure, closure_id)
        if closure is None or closure.clinic_id != clinic_id:
            raise NotFound("closure", f"no closure {closure_id} at clinic {clinic_id}")
        _audit(
            session,
            actor,
            "clinic.closure-removed",
            "clinic",
            clinic_id,
            closure=closure_id,
            first_day=closure.first_day.isoformat(),
            last_day=closure.last_day.isoformat(),
        )
        session.delete(closure)
        uow.commit()


def _practitioner(session: Session, practitioner_id: int) -> models.Practitioner:
    found = session.get(models.Practitioner, practitioner_id)
    if found is None:
        raise NotFound("practitioner", f"no practitioner {practitioner_id}")
    return found


def working_hours(session: Session, clinic_id: int, practitioner_id: int) -> list[Shift]:
    get_clinic(session, clinic_id)
    practitioner = _practitioner(session, practitioner_id)
    return sorted(Shift(h.weekday, h.starts, h.ends) for h in practitioner.hours if h.clinic_id == clinic_id)


def set_working_hours(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    practitioner_id: int,
    hours: Iterable[Shift],
    actor: str,
    now: datetime | None = None,
) -> list[Shift]:
    """A practitioner's weekly hours at this clinic; giving hours to someone who has none here adds them to
    the clinic's staff (activates them here). Their hours at other clinics are theirs to keep: one person,
    one place, so the new hours may not overlap them."""
    shifts = _checked(hours)
    if not shifts:
        raise InputError("hours", "give at least one shift, or remove the practitioner from the clinic")
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        hold_practitioner(session, practitioner_id)
        clinic = get_clinic(session, clinic_id)
        practitioner = _practitioner(session, practitioner_id)
        if not practitioner.active:
            raise InputError("practitioner", f"{practitioner.name} is not active")
        for other in practitioner.hours:
            if other.clinic_id != clinic_id and any(
                s.weekday == other.weekday and s.start < other.ends and other.starts < s.end for s in shifts
            ):
                raise InputError(
                    "hours",
                    f"{practitioner.name} works at clinic {other.clinic_id} on weekday {other.weekday} "
                    f"from {other.starts:%H:%M} to {other.ends:%H:%M}",
                )
        zone = clinic_zone(clinic.time_zone)
        outside = [
            v
            for v in _booked_from_now(session, clinic_id, now, practitioner_id)
            if not _within(v.start_at.astimezone(zone), v.end_at.astimezone(zone), shifts)
        ]
        refuse_stranded(outside, "visit-outside-hours", f"would fall outside {practitioner.name}'s new hours")
        before = working_hours(session, clinic_id, practitioner_id)
        session.execute(
            delete(models.PractitionerHours).where(
                models.PractitionerHours.practitioner_id == practitioner_id,
                models.PractitionerHours.clinic_id == clinic_id,
            )
        )
        session.add_all(
            models.PractitionerHours(
                practitioner_id=practitioner_id, clinic_id=clinic_id, weekday=s.weekday, starts=s.start, ends=s.end
            )
            for s in shifts
        )
        _audit(
            session,
            actor,
            "practitioner.hours-changed" if before else "practitioner.joined-clinic",
            "practitioner",
            practitioner_id,
            clinic_id=clinic_id,
            before=[s.as_dict() for s in before],
            after=[s.as_dict() for s in shifts],
        )
        uow.commit()
    return shifts


def leave_clinic(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    practitioner_id: int,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Deactivate a practitioner at this clinic: their hours here go, so nothing more is booked with them here.
    Their record, their past visits and their hours at other clinics stay."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        hold_practitioner(session, practitioner_id)
        get_clinic(session, clinic_id)
        before = working_hours(session, clinic_id, practitioner_id)
        if not before:
            raise NotFound("practitioner", f"practitioner {practitioner_id} does not work at clinic {clinic_id}")
        refuse_stranded(
            _booked_from_now(session, clinic_id, now, practitioner_id), "visit-booked", "is booked with them"
        )
        session.execute(
            delete(models.PractitionerHours).where(
                models.PractitionerHours.practitioner_id == practitioner_id,
                models.PractitionerHours.clinic_id == clinic_id,
            )
        )
        _audit(
            session,
            actor,
            "practitioner.left-clinic",
            "practitioner",
            practitioner_id,
            clinic_id=clinic_id,
            before=[s.as_dict() for s in before],
        )
        uow.commit()


def knowledge_for_clinic(session: Session, clinic_id: int, kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base as this clinic applies it: `kb` with the clinic's rule adjustments (kb itself when it
    has none, or when there is no such clinic). Booking, moving and slots ask this, so every channel applies
    the same rules."""
    try:
        return clinic_setup(session, clinic_id).knowledge(kb)
    except NotFound:
        return kb


def rule_adjustments(session: Session, clinic_id: int) -> list[AdjustmentRow]:
    get_clinic(session, clinic_id)
    return adjustment_log(session, clinic_id)


def adjust_rule(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    clinic_id: int,
    rule_id: str,
    changes: Mapping[str, str],
    actor: str,
    now: datetime | None = None,
) -> IntervalRule | SessionLimit:
    """Change fields of one rule at this clinic (see domain/adjustments.py for what may change), logging and
    auditing each changed field with its value before and after. Refused with every field at fault; an
    unchanged value is not logged. A longer wait may leave a later maximum out of reach along a chain of visits
    (Botox, microneedling, then the touch-up): maximums only ever warn, so the advisor says so for such a
    patient rather than the change being refused."""
    now = now or now_utc()
    try:
        source = kb.rule(rule_id)
    except KeyError:
        raise NotFound("rule", f"no rule {rule_id!r} in the knowledge base") from None
    if not changes:
        raise InputError("rule", f"name a field to change: {', '.join(fields_of(source))}")
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        get_clinic(session, clinic_id)
        log = rule_adjustments_of(adjustment_log(session, clinic_id))
        current = apply(kb, log).get(rule_id, source)
        try:
            rule = check_changes(source, current, changes)
        except AdjustmentRefused as refused:
            raise RuleChangeRefused([(p.field, p.problem) for p in refused.problems]) from None
        fields = [f for f in fields_of(source) if value_of(rule, f) != value_of(current, f)]
        new_log = [*log, *(RuleAdjustment(rule_id, f, value_of(rule, f)) for f in fields)]
        for field in fields:
            row = AdjustmentRow(
                clinic_id=clinic_id,
                rule_id=rule_id,
                field=str(field),
                before=value_of(current, field),
                after=value_of(rule, field),
                by=actor,
                at=now,
            )
            session.add(row)
            session.flush()
            _audit(
                session,
                actor,
                "rule.adjusted",
                "rule-adjustment",
                row.id,
                clinic_id=clinic_id,
                rule=rule_id,
                field=str(field),
                before=row.before,
                after=row.after,
            )
        uow.commit()
    return adjusted(kb, new_log).rule(rule_id)
