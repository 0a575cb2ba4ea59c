"""Authorized prescribers' client-specific orders. In BC a registered nurse injects a prescription drug such as
botulinum toxin only on an authorized prescriber's order for that patient; which grants work that way is data
(a qualification's `on_order_only` grant). An order lets such a practitioner give the treatment to the patient on
visits up to its last day; booking, slots and plans read the orders in force with the patient's history.

Only a practitioner who gives the treatment in their own right (at some clinic that offers it) may write or
revoke an order. Writing and revoking are audited by ids; what was ordered (the note) stays in the chart.
Revoking is a prescriber's decision and is never refused for its consequences: each booked visit it leaves
without an order comes back, still booked, for staff to reassign or cancel, and the chart flags it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import DEFAULT_ZONE, clinic_zone, now_utc
from safewindow.domain.availability import NOT_BUSY
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.treatments import Prescriber
from safewindow.services.booking import Problem, Refused
from safewindow.services.clinic_setup import ClinicSetup, clinic_setup, permissions_of
from safewindow.services.clinic_view import load_patient
from safewindow.services.errors import InputError, NotFound
from safewindow.services.local_time import short_local
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

LONGEST_NOTE = 2000
FURTHEST_AHEAD = timedelta(days=731)  # a bound on typing, not a clinical limit: the prescriber sets the day


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    patient_id: int
    treatment: str
    prescriber_id: int
    prescriber: str
    valid_until: date  # the last calendar day it covers
    note: str
    written_by: str
    written_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None

    def in_force(self, today: date) -> bool:
        return self.revoked_at is None and self.valid_until >= today

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "treatment": self.treatment,
            "prescriber_id": self.prescriber_id,
            "prescriber": self.prescriber,
            "valid_until": self.valid_until.isoformat(),
            "note": self.note,
            "written_by": self.written_by,
            "written_at": self.written_at.isoformat(),
            "revoked_by": self.revoked_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class Revoked:
    order: Order
    uncovered: tuple[Problem, ...]  # booked visits the patient's orders no longer cover
    already: bool = False  # it was revoked before: nothing changed, and what it left uncovered was said then

    def as_dict(self) -> dict[str, object]:
        return self.order.as_dict() | {
            "uncovered": [p.as_dict() for p in self.uncovered],
            "already_revoked": self.already,
        }


def order_of(row: models.ClientOrder) -> Order:
    return Order(
        row.id,
        row.patient_id,
        row.treatment_slug,
        row.prescriber_id,
        row.prescriber.name,
        row.valid_until,
        row.note,
        row.written_by,
        row.written_at,
        row.revoked_by,
        row.revoked_at,
    )


def orders_of(session: Session, patient_id: int) -> list[Order]:
    """Every order written for the patient, revoked ones too, newest first."""
    if session.get(models.Patient, patient_id) is None:
        raise NotFound("patient", f"no patient {patient_id}")
    rows = session.scalars(
        select(models.ClientOrder)
        .where(models.ClientOrder.patient_id == patient_id)
        .options(selectinload(models.ClientOrder.prescriber))
        .order_by(models.ClientOrder.written_at.desc(), models.ClientOrder.id.desc())
    )
    return [order_of(row) for row in rows]


def write_order(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    patient_id: int,
    treatment: str,
    prescriber_id: int,
    valid_until: date,
    note: str = "",
    actor: str,
    now: datetime | None = None,
) -> Order:
    """The prescriber's order for the patient to have `treatment` on visits up to `valid_until`."""
    now = now or now_utc()
    today = clinic_day(now, clinic_zone(DEFAULT_ZONE))
    known = kb.treatments.get(treatment)
    if known is None:
        raise InputError("treatment", f"no treatment {treatment!r}")
    if known.prescriber == Prescriber.NONE:
        raise InputError("treatment", f"{known.name} needs no prescriber's order")
    if valid_until < today:
        raise InputError("valid_until", f"must be today ({today}) or later")
    if valid_until > today + FURTHEST_AHEAD:
        raise InputError("valid_until", f"must be within two years, by {today + FURTHEST_AHEAD}")
    note = note.strip()
    if len(note) > LONGEST_NOTE:
        raise InputError("note", f"at most {LONGEST_NOTE} characters")
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        load_patient(session, patient_id, lock=True)  # bookings for the patient wait for the order, or it for them
        needed = orderable_permissions(session).get(treatment)
        if not needed:
            raise InputError("treatment", f"nobody gives {known.name} only on a prescriber's order, so it needs none")
        prescriber = _prescriber(session, prescriber_id, treatment, needed)
        row = models.ClientOrder(
            patient_id=patient_id,
            treatment_slug=treatment,
            prescriber_id=prescriber.id,
            valid_until=valid_until,
            note=note,
            written_by=actor,
            written_at=now,
        )
        session.add(row)
        session.flush()
        _audit(session, actor, "order.written", row, valid_until=valid_until.isoformat())
        order = order_of(row)
        uow.commit()
        return order


def revoke_order(
    session_factory: sessionmaker[Session],
    *,
    order_id: int,
    prescriber_id: int,
    actor: str,
    now: datetime | None = None,
) -> Revoked:
    """Revoke the order; revoking one already revoked changes nothing and is not audited again."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        found = session.get(models.ClientOrder, order_id)
        if found is None:
            raise NotFound("order", f"no order {order_id}")
        load_patient(session, found.patient_id, lock=True)
        row = session.get(models.ClientOrder, order_id, populate_existing=True)
        assert row is not None  # orders are never deleted, and the patient's row is held
        if row.revoked_at is not None:
            return Revoked(order_of(row), (), already=True)
        _prescriber(session, prescriber_id, row.treatment_slug, _permissions_needed(session, row.treatment_slug))
        row.revoked_at, row.revoked_by = now, actor
        session.flush()
        _audit(session, actor, "order.revoked", row)
        covered = covered_by(orders_of(session, row.patient_id))
        visits = session.scalars(
            select(models.Visit).where(
                models.Visit.patient_id == row.patient_id,
                models.Visit.treatment_slug == row.treatment_slug,
                models.Visit.status == models.VisitStatus.BOOKED,
                models.Visit.end_at > now,
            )
        )
        uncovered = tuple(uncovered_visits(session, visits, covered).values())
        revoked = Revoked(order_of(row), uncovered)
        uow.commit()
        return revoked


def covered_by(orders: Iterable[Order]) -> dict[str, date]:
    """Treatment -> the last day the orders not revoked cover (an order past its last day covers no day ahead)."""
    covered: dict[str, date] = {}
    for order in orders:
        if order.revoked_at is None:
            covered[order.treatment] = max(order.valid_until, covered.get(order.treatment, order.valid_until))
    return covered


def uncovered_visits(
    session: Session, visits: Iterable[models.Visit], orders: Mapping[str, date]
) -> dict[int, Problem]:
    """Of `visits`, each whose practitioner gives its treatment only on a prescriber's order and whose day the
    patient's orders in force (`orders`: treatment -> last day covered) do not reach, with why."""
    found = {}
    setups: dict[int, ClinicSetup] = {}  # each clinic's read once (its version is a query)
    for visit in visits:
        setup = setups.get(visit.clinic_id) or setups.setdefault(
            visit.clinic_id, clinic_setup(session, visit.clinic_id)
        )
        offered = setup.offered.get(visit.treatment_slug)
        member = next((m for m in setup.staff if m.id == visit.practitioner_id), None)
        if offered is None or member is None or not member.with_busy(NOT_BUSY).needs_order_for(offered):
            continue
        day = clinic_day(visit.start_at, setup.zone)
        until = orders.get(visit.treatment_slug)
        if until is not None and until >= day:
            continue
        when = short_local(visit.start_at, setup.zone.key)
        found[visit.id] = Problem(
            "practitioner-needs-order",
            f"Visit {visit.id} ({visit.treatment_slug} on {when} with {member.name}) has no authorized "
            f"prescriber's order to cover it: {member.name} gives {visit.treatment_slug} only on one.",
        )
    return found


def order_would_widen(session: Session, clinic_id: int, treatment: str, patient_id: int | None, today: date) -> bool:
    """Whether someone at the clinic gives `treatment` only on a prescriber's order and the patient (anyone, when
    None) has no order for it in force: that practitioner's times appear once a prescriber writes one."""
    setup = clinic_setup(session, clinic_id)
    offered = setup.offered.get(treatment)
    if offered is None or not any(m.with_busy(NOT_BUSY).needs_order_for(offered) for m in setup.staff):
        return False
    return patient_id is None or not any(
        o.treatment == treatment and o.in_force(today) for o in orders_of(session, patient_id)
    )


def orderable_permissions(session: Session, clinic_id: int | None = None) -> dict[str, set[str]]:
    """Treatment -> the permissions its offers need (at the clinic, or anywhere) that some qualification grants
    only on a prescriber's order: an order matters only for those treatments, and is written by a practitioner
    holding one of those permissions in their own right. Who may do what is data, so this is read, not coded."""
    on_order = select(models.Grant.permission_id).where(models.Grant.on_order_only.is_(True))
    query = select(models.ClinicTreatment.treatment_slug, models.ClinicTreatment.required_permission_id).where(
        models.ClinicTreatment.active.is_(True), models.ClinicTreatment.required_permission_id.in_(on_order)
    )
    if clinic_id is not None:
        query = query.where(models.ClinicTreatment.clinic_id == clinic_id)
    found: dict[str, set[str]] = {}
    for slug, permission in session.execute(query):
        if permission is not None:
            found.setdefault(slug, set()).add(permission)
    return found


def orderable_by(
    session: Session, kb: KnowledgeBase, practitioner_id: int, clinic_id: int | None = None
) -> tuple[str, ...]:
    """The treatments (in the knowledge base's order) the practitioner may order for a patient, or revoke an
    order of: offered (at the clinic, or anywhere), needing an order from someone, given by them in their own
    right. None for a practitioner unknown or no longer active."""
    practitioner = _active_practitioner(session, practitioner_id)
    if practitioner is None:
        return ()
    own = permissions_of(practitioner)
    needing = orderable_permissions(session, clinic_id)
    return tuple(
        slug
        for slug, treatment in kb.treatments.items()
        if treatment.prescriber != Prescriber.NONE and not needing.get(slug, set()).isdisjoint(own)
    )


def _permissions_needed(session: Session, treatment: str) -> set[str]:
    return set(
        session.scalars(
            select(models.ClinicTreatment.required_permission_id).where(
                models.ClinicTreatment.treatment_slug == treatment,
                models.ClinicTreatment.active.is_(True),
                models.ClinicTreatment.required_permission_id.is_not(None),
            )
        )
    )


def _active_practitioner(session: Session, practitioner_id: int) -> models.Practitioner | None:
    """The practitioner with their grants, if they are still active."""
    found = session.get(
        models.Practitioner,
        practitioner_id,
        options=[selectinload(models.Practitioner.qualifications).selectinload(models.Qualification.grants)],
    )
    return found if found is not None and found.active else None


def _prescriber(session: Session, prescriber_id: int, treatment: str, needed: set[str]) -> models.Practitioner:
    """The practitioner, if they hold one of the `needed` permissions in their own right: only they may order
    `treatment` for a patient or revoke such an order."""
    prescriber = _active_practitioner(session, prescriber_id)
    if prescriber is None:
        raise NotFound("prescriber", f"no practitioner {prescriber_id}")
    if needed.isdisjoint(permissions_of(prescriber)):
        raise Refused(
            [
                Problem(
                    "not-a-prescriber",
                    f"{prescriber.name} does not give {treatment} in their own right, so may not order or revoke "
                    "it for a patient.",
                )
            ]
        )
    return prescriber


def _audit(session: Session, actor: str, action: str, row: models.ClientOrder, **detail: object) -> None:
    # Ids and days only: which treatment a patient was ordered, and the note, are health data.
    session.add(
        models.AuditEntry(
            actor=actor,
            action=action,
            entity="client_order",
            entity_id=str(row.id),
            detail={"patient_id": row.patient_id, "prescriber_id": row.prescriber_id} | detail,
        )
    )
