"""What a clinic offers and how it takes bookings, set by its administrator: each treatment's length, its set-up
and clean-up buffers, who may do it (a permission that qualifications grant), the room kind and device it
needs and the deposit it asks to hold a visit; and the booking policy (minimum notice, how far ahead, the grid
slots start on, and until how long before a visit the patient may cancel or move it online). One transaction
per change, audited with the values before and after.

A change applies to bookings from then on. Booked visits keep the time they hold (their buffers were recorded
when they were booked), so no change here can strand one; a treatment no longer offered stays booked where it
is. Lengths and buffers are bounded as the domain bounds them (domain/availability.py), and a treatment that
breaks the skin, injects or needs a prescriber always needs a permission: which one is the clinic's choice,
recorded in the audit log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.availability import DEFAULT_POLICY, LONGEST_BUFFER_MINUTES, LONGEST_VISIT_MINUTES
from safewindow.domain.deposits import LARGEST_CENTS, dollars
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.treatments import Prescriber, Treatment
from safewindow.services.admin import hold_clinic
from safewindow.services.clinic_view import get_clinic
from safewindow.services.errors import FieldProblems
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

SLOT_STEPS = (5, 10, 15, 20, 30, 60)  # minutes: each divides an hour, so slots fall on the same times every hour
LONGEST_NOTICE = 14 * 24 * 60  # minutes
LONGEST_HORIZON = 730  # days
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Offer:
    """A treatment as the clinic offers it."""

    treatment: str  # the knowledge base's slug
    name: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    permission: str | None  # who may do it: a permission id; None when anyone at the clinic may
    room_kind: str | None  # None: no room is booked
    device_kind: str | None  # a shared device of this kind is booked too
    active: bool  # offered for booking now
    deposit_cents: int = 0  # asked to hold a visit (domain/deposits.py); 0: none

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Policy:
    min_notice_minutes: int
    horizon_days: int
    slot_step_minutes: int
    change_notice_minutes: int  # patients may cancel or move a visit online until this long before it

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Choices:
    """What an offer may name at this clinic."""

    permissions: tuple[tuple[str, str], ...]  # id, name
    room_kinds: tuple[str, ...]
    device_kinds: tuple[str, ...]


def needs_permission(treatment: Treatment) -> bool:
    """Whether the knowledge base says the treatment is more than a spa service, so not anyone may do it."""
    return treatment.injection or treatment.breaks_skin or treatment.prescriber is not Prescriber.NONE


def _offer(row: models.ClinicTreatment, kb: KnowledgeBase) -> Offer:
    known = kb.treatments.get(row.treatment_slug)
    return Offer(
        row.treatment_slug,
        known.name if known else row.treatment_slug,
        row.duration_minutes,
        row.buffer_before_minutes,
        row.buffer_after_minutes,
        row.required_permission_id,
        row.required_room_kind,
        row.required_device_kind,
        row.active,
        row.deposit_cents,
    )


def offers(session: Session, clinic_id: int, kb: KnowledgeBase) -> list[Offer]:
    """Everything the clinic offers or has offered, by name."""
    get_clinic(session, clinic_id)
    rows = session.scalars(select(models.ClinicTreatment).where(models.ClinicTreatment.clinic_id == clinic_id))
    return sorted((_offer(row, kb) for row in rows), key=lambda offer: offer.name)


def choices(session: Session, clinic_id: int) -> Choices:
    clinic = get_clinic(session, clinic_id)
    permissions = session.execute(select(models.Permission.id, models.Permission.name).order_by(models.Permission.name))
    return Choices(
        tuple((row.id, row.name) for row in permissions),
        tuple(sorted({room.kind for room in clinic.rooms})),
        tuple(sorted({device.kind for device in clinic.devices})),
    )


def _problems(offer: Offer, kb: KnowledgeBase, allowed: Choices) -> list[tuple[str, str]]:
    problems = []
    treatment = kb.treatments.get(offer.treatment)
    if treatment is None:
        problems.append(("treatment", f"{offer.treatment!r} is not a treatment in the knowledge base"))
    if not 1 <= offer.duration_minutes <= LONGEST_VISIT_MINUTES:
        problems.append(("duration_minutes", f"must be 1 to {LONGEST_VISIT_MINUTES} minutes"))
    for field, value in (
        ("buffer_before_minutes", offer.buffer_before_minutes),
        ("buffer_after_minutes", offer.buffer_after_minutes),
    ):
        if not 0 <= value <= LONGEST_BUFFER_MINUTES:
            problems.append((field, f"must be 0 to {LONGEST_BUFFER_MINUTES} minutes"))
    if offer.permission is None:
        if treatment is not None and needs_permission(treatment):
            problems.append(("permission", f"{treatment.name} needs a permission: choose who may do it"))
    elif offer.permission not in dict(allowed.permissions):
        problems.append(("permission", f"{offer.permission!r} is not a permission"))
    if not 0 <= offer.deposit_cents <= LARGEST_CENTS:
        problems.append(("deposit_cents", f"must be 0 (none) to {LARGEST_CENTS} cents ({dollars(LARGEST_CENTS)})"))
    if offer.room_kind is not None and offer.room_kind not in allowed.room_kinds:
        problems.append(("room_kind", f"the clinic has no {offer.room_kind!r} room"))
    if offer.device_kind is not None and offer.device_kind not in allowed.device_kinds:
        problems.append(("device_kind", f"the clinic has no {offer.device_kind!r} device"))
    return problems


def set_offer(
    session_factory: sessionmaker[Session], kb: KnowledgeBase, *, clinic_id: int, offer: Offer, actor: str
) -> Offer:
    """Offer a treatment at the clinic, or change how it is offered; refused naming every field at fault.
    `offer.name` is not the caller's: it comes from the knowledge base."""
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)  # bookings in flight finish under the setup they read
        problems = _problems(offer, kb, choices(session, clinic_id))
        if problems:
            raise FieldProblems(problems)
        row = session.scalars(
            select(models.ClinicTreatment).where(
                models.ClinicTreatment.clinic_id == clinic_id, models.ClinicTreatment.treatment_slug == offer.treatment
            )
        ).one_or_none()
        before = _offer(row, kb) if row is not None else None
        if row is None:
            row = models.ClinicTreatment(clinic_id=clinic_id, treatment_slug=offer.treatment)
            session.add(row)
        row.duration_minutes = offer.duration_minutes
        row.buffer_before_minutes = offer.buffer_before_minutes
        row.buffer_after_minutes = offer.buffer_after_minutes
        row.required_permission_id = offer.permission
        row.required_room_kind = offer.room_kind
        row.required_device_kind = offer.device_kind
        row.active = offer.active
        row.deposit_cents = offer.deposit_cents
        session.flush()
        after = _offer(row, kb)
        if after != before:
            _audit(
                session,
                actor,
                "clinic.treatment-offered" if before is None else "clinic.treatment-changed",
                clinic_id,
                before=before.as_dict() if before else None,
                after=after.as_dict(),
            )
        uow.commit()
    return after


def change_notice(clinic: models.Clinic) -> timedelta:
    """The clinic's notice for changes made online: a patient may cancel or move a visit until this long before."""
    return timedelta(minutes=clinic.policy.change_notice_minutes) if clinic.policy else DEFAULT_POLICY.change_notice


def booking_policy(session: Session, clinic_id: int) -> Policy:
    """The clinic's policy; the defaults where it never set one."""
    get_clinic(session, clinic_id)
    row = session.get(models.BookingPolicy, clinic_id)
    if row is None:
        return _defaults()
    return Policy(row.min_notice_minutes, row.horizon_days, row.slot_step_minutes, row.change_notice_minutes)


def _defaults() -> Policy:
    return Policy(
        DEFAULT_POLICY.minimum_notice // MINUTE,
        DEFAULT_POLICY.horizon_days,
        DEFAULT_POLICY.step_minutes,
        DEFAULT_POLICY.change_notice // MINUTE,
    )


def set_booking_policy(session_factory: sessionmaker[Session], *, clinic_id: int, policy: Policy, actor: str) -> Policy:
    """Replace the clinic's booking policy; refused naming every field at fault."""
    problems = []
    if not 0 <= policy.min_notice_minutes <= LONGEST_NOTICE:
        problems.append(("min_notice_minutes", f"must be 0 to {LONGEST_NOTICE} minutes (14 days)"))
    if not 1 <= policy.horizon_days <= LONGEST_HORIZON:
        problems.append(("horizon_days", f"must be 1 to {LONGEST_HORIZON} days"))
    if policy.slot_step_minutes not in SLOT_STEPS:
        problems.append(("slot_step_minutes", f"must be one of {', '.join(map(str, SLOT_STEPS))} minutes"))
    if not 0 <= policy.change_notice_minutes <= LONGEST_NOTICE:
        problems.append(("change_notice_minutes", f"must be 0 to {LONGEST_NOTICE} minutes (14 days)"))
    if problems:
        raise FieldProblems(problems)
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)
        before = booking_policy(session, clinic_id)
        row = session.get(models.BookingPolicy, clinic_id)
        if row is None:
            row = models.BookingPolicy(clinic_id=clinic_id)
            session.add(row)
        row.min_notice_minutes = policy.min_notice_minutes
        row.horizon_days = policy.horizon_days
        row.slot_step_minutes = policy.slot_step_minutes
        row.change_notice_minutes = policy.change_notice_minutes
        if policy != before:
            _audit(
                session,
                actor,
                "clinic.booking-policy-changed",
                clinic_id,
                before=before.as_dict(),
                after=policy.as_dict(),
            )
        uow.commit()
    return policy


def _audit(session: Session, actor: str, action: str, clinic_id: int, **detail: object) -> None:
    session.add(models.AuditEntry(actor=actor, action=action, entity="clinic", entity_id=str(clinic_id), detail=detail))
