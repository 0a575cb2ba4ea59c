"""A clinic's setup, kept in memory until it changes: opening hours, closures, rooms, devices, treatments
offered, booking policy, the practitioners with hours there (their hours everywhere, time off and
permissions), the clinic's rule adjustments and its webhook endpoints.

Every booking needs all of it, yet it changes a few times a week while bookings come many times a minute:
reading it from the database each time was most of a booking's cost. Triggers bump one configuration version
whenever any setup table changes (migration 0008), so no code path can change the setup behind this copy's
back; a use case reads the version (one tiny query, or inside the clinic's lock) and a new version means a
fresh read. The copy holds only setup, never a patient or a visit."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from safewindow.clock import clinic_zone
from safewindow.domain import availability as domain
from safewindow.domain.adjustments import Field, RuleAdjustment, adjusted
from safewindow.domain.intervals import BusyTimes, Interval
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.weekly_hours import WeeklyHours
from safewindow.services.errors import NotFound
from safewindow.store import models
from safewindow.store.settings_models import ConfigurationVersion
from safewindow.store.settings_models import RuleAdjustment as AdjustmentRow
from safewindow.store.webhook_models import WebhookEndpoint


class Version(NamedTuple):
    instance: str  # which database: random per schema
    number: int


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A practitioner as every booking at the clinic sees them, before their visits are counted."""

    id: int
    name: str
    permissions: frozenset[str]  # in their own right
    hours: Mapping[str, WeeklyHours]  # clinic id -> hours there: their visits anywhere count
    time_off: BusyTimes
    on_order: frozenset[str] = frozenset()  # only on a prescriber's order for the patient

    def with_busy(self, busy: BusyTimes) -> domain.Practitioner:
        return domain.Practitioner(
            str(self.id), self.name, self.permissions, self.hours, self.time_off, busy, self.on_order
        )


@dataclass(frozen=True)
class ClinicSetup:
    id: int
    name: str
    zone: ZoneInfo
    open_on_holidays: bool
    opening: WeeklyHours
    closures: tuple[tuple[date, date], ...]  # first and last day, inclusive
    rooms: tuple[tuple[int, str], ...]  # id, kind
    devices: tuple[tuple[int, str], ...]
    offered: Mapping[str, domain.OfferedTreatment]
    deposits: Mapping[str, int]  # treatment slug -> the deposit, in cents, a booking of it is asked (0: none)
    policy: domain.BookingPolicy
    staff: tuple[StaffMember, ...]  # by id
    adjustments: tuple[RuleAdjustment, ...]
    last_adjustment: int | None  # its id names the clinic's version of the rules
    webhooks: tuple[tuple[int, frozenset[str]], ...]  # live endpoints: id, the events each subscribes to
    _knowledge: dict[int, tuple[KnowledgeBase, KnowledgeBase]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def staff_ids(self) -> tuple[int, ...]:
        return tuple(member.id for member in self.staff)

    def knowledge(self, kb: KnowledgeBase) -> KnowledgeBase:
        """`kb` as this clinic applies it: with its rule adjustments (kb itself without any), built once. A
        knowledge base this made already comes back as it is, so a caller may pass either."""
        if not self.adjustments or any(made is kb for _, made in self._knowledge.values()):
            return kb
        known = self._knowledge.get(id(kb))
        if known is None or known[0] is not kb:  # the base is kept, so its id cannot be reused meanwhile
            version = f"{kb.version}+clinic-{self.id}.{self.last_adjustment}"
            known = self._knowledge[id(kb)] = (kb, adjusted(kb, list(self.adjustments), version=version))
        return known[1]

    def closed_days(self, first: date, last: date) -> set[date]:
        days = set()
        for closure_first, closure_last in self.closures:
            day = max(closure_first, first)
            while day <= min(closure_last, last):
                days.add(day)
                day += timedelta(days=1)
        return days


_kept: dict[tuple[Version, int], ClinicSetup] = {}
_lock = threading.Lock()
_LOCKED = "safewindow.locked_clinic_setup"
# Who works at a clinic: anyone with hours there (bind `clinic`).
STAFF = select(models.PractitionerHours.practitioner_id).where(
    models.PractitionerHours.clinic_id == bindparam("clinic")
)
KEEP_AT_MOST = 1000  # clinics


def current_version(session: Session) -> Version:
    row = session.execute(select(ConfigurationVersion.instance, ConfigurationVersion.version)).one()
    return Version(row.instance, row.version)


def clinic_setup(session: Session, clinic_id: int, version: Version | None = None) -> ClinicSetup:
    """The clinic's setup as of `version` (read now when not given): kept, or read and kept. Within a
    transaction that locked the clinic (`locked`), that setup: what the change was checked against is also
    what its mail and webhooks go by, and it costs no query."""
    if version is None:
        held = session.info.get(_LOCKED)
        if held is not None and held[0] is session.get_transaction() and held[1].id == clinic_id:
            setup: ClinicSetup = held[1]
            return setup
        version = current_version(session)
    kept = _kept.get((version, clinic_id))
    if kept is not None:
        return kept
    setup = _read(session, clinic_id)
    with _lock:
        stale = [key for key in _kept if key[0].instance == version.instance and key[0].number < version.number]
        for key in stale:
            del _kept[key]
        if len(_kept) >= KEEP_AT_MOST:  # many databases in one process (tests): start again rather than grow
            _kept.clear()
        _kept[(version, clinic_id)] = setup
    return setup


def read_ahead(session: Session, clinic_id: int) -> None:
    """Before a use case locks the clinic: read its setup now if this process keeps none of it (just started,
    or never booked there), so that reading a dozen tables does not happen while the clinic's lock is held and
    every other booking there waits. Costs nothing once a setup is kept; the lock's own statement still checks
    the version, and a setup changed since is read again under the lock, as before."""
    if not any(kept_id == clinic_id for _, kept_id in list(_kept)):
        clinic_setup(session, clinic_id)


def locked(session: Session, setup: ClinicSetup) -> None:
    """Remember, for the rest of this transaction, the setup of the clinic whose row it locked (booking,
    moving: use cases that change visits, never the setup)."""
    session.info[_LOCKED] = (session.get_transaction(), setup)


def _weekly(rows: Iterable[tuple[int, time, time]]) -> WeeklyHours:
    days: defaultdict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, start, end in rows:
        days[weekday].append((start, end))
    return WeeklyHours.of(days)


def _read(session: Session, clinic_id: int) -> ClinicSetup:
    row = session.scalars(
        select(models.Clinic)
        .where(models.Clinic.id == clinic_id)
        .options(
            selectinload(models.Clinic.hours),
            selectinload(models.Clinic.closures),
            selectinload(models.Clinic.rooms),
            selectinload(models.Clinic.devices),
            selectinload(models.Clinic.treatments),
            selectinload(models.Clinic.policy),
        )
    ).one_or_none()
    if row is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    policy = row.policy
    adjustments = adjustment_log(session, clinic_id)
    return ClinicSetup(
        id=row.id,
        name=row.name,
        zone=clinic_zone(row.time_zone),
        open_on_holidays=row.open_on_holidays,
        opening=_weekly((h.weekday, h.opens, h.closes) for h in row.hours),
        closures=tuple((c.first_day, c.last_day) for c in row.closures),
        rooms=tuple((r.id, r.kind) for r in row.rooms),
        devices=tuple((d.id, d.kind) for d in row.devices),
        offered={
            t.treatment_slug: domain.OfferedTreatment(
                t.treatment_slug,
                t.duration_minutes,
                t.buffer_before_minutes,
                t.buffer_after_minutes,
                frozenset({t.required_permission_id}) if t.required_permission_id else frozenset(),
                t.required_room_kind,
                t.required_device_kind,
            )
            for t in row.treatments
            if t.active
        },
        deposits={t.treatment_slug: t.deposit_cents for t in row.treatments if t.active and t.deposit_cents},
        policy=domain.DEFAULT_POLICY
        if policy is None
        else domain.BookingPolicy(
            timedelta(minutes=policy.min_notice_minutes),
            policy.horizon_days,
            policy.slot_step_minutes,
            timedelta(minutes=policy.change_notice_minutes),
        ),
        staff=_staff(session, clinic_id),
        adjustments=tuple(rule_adjustments_of(adjustments)),
        last_adjustment=adjustments[-1].id if adjustments else None,
        webhooks=tuple((endpoint.id, frozenset(endpoint.events)) for endpoint in endpoints_of(session, clinic_id)),
    )


def adjustment_log(session: Session, clinic_id: int) -> list[AdjustmentRow]:
    """The clinic's rule changes, oldest first: the log is the truth, the clinic's rules are derived from it."""
    query = select(AdjustmentRow).where(AdjustmentRow.clinic_id == clinic_id).order_by(AdjustmentRow.id)
    return list(session.scalars(query))


def endpoints_of(session: Session, clinic_id: int) -> list[WebhookEndpoint]:
    """The clinic's live webhook endpoints."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.clinic_id == clinic_id, WebhookEndpoint.deleted_at.is_(None))
    return list(session.scalars(query.order_by(WebhookEndpoint.id)))


def rule_adjustments_of(rows: Iterable[AdjustmentRow]) -> list[RuleAdjustment]:
    known = {field.value: field for field in Field}
    return [RuleAdjustment(r.rule_id, known[r.field], r.after) for r in rows if r.field in known]


def _staff(session: Session, clinic_id: int) -> tuple[StaffMember, ...]:
    """Everyone active with hours at this clinic. Their permissions come from their qualifications' grants:
    who may do what is data."""
    rows = session.scalars(
        select(models.Practitioner)
        .where(
            models.Practitioner.active.is_(True),
            models.Practitioner.id.in_(STAFF),
        )
        .options(
            selectinload(models.Practitioner.hours),
            selectinload(models.Practitioner.time_off),
            selectinload(models.Practitioner.qualifications).selectinload(models.Qualification.grants),
        )
        .order_by(models.Practitioner.id),
        {"clinic": clinic_id},
    )
    staff = []
    for row in rows:
        hours: defaultdict[int, list[tuple[int, time, time]]] = defaultdict(list)
        for shift in row.hours:
            hours[shift.clinic_id].append((shift.weekday, shift.starts, shift.ends))
        staff.append(
            StaffMember(
                id=row.id,
                name=row.name,
                permissions=permissions_of(row),
                on_order=on_order_of(row),
                hours={str(clinic): _weekly(shifts) for clinic, shifts in hours.items()},
                time_off=BusyTimes.of(Interval(t.start_at, t.end_at) for t in row.time_off),
            )
        )
    return tuple(staff)


def permissions_of(practitioner: models.Practitioner) -> frozenset[str]:
    """What they may do in their own right."""
    return frozenset(
        grant.permission_id for q in practitioner.qualifications for grant in q.grants if not grant.on_order_only
    )


def on_order_of(practitioner: models.Practitioner) -> frozenset[str]:
    """What they may do only on an authorized prescriber's client-specific order for the patient."""
    granted = (grant for q in practitioner.qualifications for grant in q.grants if grant.on_order_only)
    return frozenset(grant.permission_id for grant in granted) - permissions_of(practitioner)
