"""The demo: fictional Abbotsford clinics, their practitioners and patients, read from `demo_data.yaml`.

`load_demo(session)` adds what is missing and leaves what exists, so a second run changes nothing. It flushes
but does not commit: the caller's unit of work decides."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError
from sqlalchemy import select, true
from sqlalchemy.orm import Session

from safewindow.clock import DEFAULT_ZONE, clinic_zone
from safewindow.domain.consent import starter_body, starter_title
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.store import models as m
from safewindow.store.consent_models import ConsentForm
from safewindow.store.demo_schema import (
    WEEKDAYS,
    ClinicSpec,
    DemoData,
    GrantSpec,
    PatientSpec,
    PractitionerSpec,
)

DEMO_DATA = Path(__file__).with_name("demo_data.yaml")
ACTOR = "demo-loader"
# The demo clinics began asking for signed consent on the seed's "today": visits before it had no form to sign.
FORMS_IN_USE_FROM = datetime(2026, 11, 11, 8, 0, tzinfo=clinic_zone(DEFAULT_ZONE))
Row = TypeVar("Row", bound=m.Base)
Held = TypeVar("Held", m.ClinicTreatment, m.Room, m.Device)


class DemoDataError(ValueError):
    """The demo file is wrong: names the item and the problem."""


@dataclass(frozen=True, slots=True)
class DemoLoad:
    """What a run added, by table; empty when everything was already there."""

    created: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created)


def read_demo_data(path: Path = DEMO_DATA) -> DemoData:
    try:
        return DemoData.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise DemoDataError(f"{path.name}: {error}") from None


def load_demo(session: Session, data: DemoData | None = None, knowledge: KnowledgeBase | None = None) -> DemoLoad:
    loader = _Loader(session, knowledge or default_knowledge_base())
    loader.load(data or read_demo_data())
    created = {table: count for table, count in sorted(loader.created.items()) if count}
    if created:
        # Counts only: an audit entry never carries health data.
        session.add(
            m.AuditEntry(
                actor=ACTOR, action="demo.load", entity="demo", entity_id="abbotsford", detail={"created": created}
            )
        )
        session.flush()
    return DemoLoad(created)


def _span(text: str, where: str) -> tuple[time, time]:
    try:
        opens, closes = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise DemoDataError(f"{where}: {text!r} is not HH:MM-HH:MM") from None
    return opens, closes


class _Loader:
    def __init__(self, session: Session, knowledge: KnowledgeBase) -> None:
        self.session = session
        self.knowledge = knowledge
        self.created: Counter[str] = Counter()

    def ensure(self, model: type[Row], key: dict[str, Any], **values: Any) -> Row:
        """The row matching `key`, created with `values` if there is none; an existing row is left alone."""
        found = self.session.scalars(select(model).filter_by(**key)).first()
        if found is not None:
            return found
        row = model(**key, **values)
        self.session.add(row)
        self.session.flush()
        self.created[model.__tablename__] += 1
        return row

    def of_clinic(self, model: type[Held], clinic: m.Clinic, name: str) -> dict[str, Held]:
        rows = self.session.scalars(select(model).filter_by(clinic_id=clinic.id))
        return {getattr(row, name): row for row in rows}

    def may(self, practitioner: m.Practitioner, permission_id: str, *, own_right: bool = False) -> bool:
        """Whether they hold the permission (in their own right: not only on a prescriber's order)."""
        granted = self.session.scalars(
            select(m.Grant.permission_id)
            .join(
                m.practitioner_qualifications,
                m.practitioner_qualifications.c.qualification_id == m.Grant.qualification_id,
            )
            .where(
                m.practitioner_qualifications.c.practitioner_id == practitioner.id,
                m.Grant.on_order_only.is_(False) if own_right else true(),
            )
        )
        return permission_id in set(granted)

    def load(self, data: DemoData) -> None:
        permissions = {
            p.id: self.ensure(m.Permission, {"id": p.id}, name=p.name, description=p.description)
            for p in data.permissions
        }
        for entry in data.qualifications:
            qualification = self.ensure(
                m.Qualification, {"id": entry.id}, name=entry.name, description=entry.description
            )
            for given in entry.grants:
                grant = given if isinstance(given, GrantSpec) else GrantSpec(permission=given)
                _need(permissions, grant.permission, f"qualification {entry.id}")
                self.ensure(
                    m.Grant,
                    {"qualification_id": qualification.id, "permission_id": grant.permission},
                    on_order_only=grant.on_order_only,
                )
        clinics = {spec.slug: self.clinic(spec) for spec in data.clinics}
        practitioners = {spec.email: self.practitioner(spec, clinics) for spec in data.practitioners}
        for patient in data.patients:
            self.patient(patient, clinics, practitioners)

    def clinic(self, spec: ClinicSpec) -> m.Clinic:
        try:
            clinic_zone(spec.time_zone)
        except ValueError as error:
            raise DemoDataError(f"clinic {spec.slug}: {error}") from None
        clinic = self.ensure(
            m.Clinic,
            {"slug": spec.slug},
            name=spec.name,
            address=spec.address,
            phone=spec.phone,
            time_zone=spec.time_zone,
            open_on_holidays=spec.open_on_holidays,
        )
        for weekday, spans in spec.hours.items():
            for text in spans:
                opens, closes = _span(text, f"clinic {spec.slug}")
                self.ensure(
                    m.ClinicHours,
                    {"clinic_id": clinic.id, "weekday": WEEKDAYS.index(weekday), "opens": opens},
                    closes=closes,
                )
        for closure in spec.closures:
            self.ensure(
                m.ClinicClosure,
                {"clinic_id": clinic.id, "first_day": closure.first_day},
                last_day=closure.last_day,
                reason=closure.reason,
            )
        self.ensure(m.BookingPolicy, {"clinic_id": clinic.id}, **spec.policy.model_dump())
        for room in spec.rooms:
            self.ensure(m.Room, {"clinic_id": clinic.id, "name": room.name}, kind=room.kind)
        for device in spec.devices:
            self.ensure(m.Device, {"clinic_id": clinic.id, "name": device.name}, kind=device.kind)
        for offer in spec.treatments:
            if offer.slug not in self.knowledge.treatments:
                raise DemoDataError(f"clinic {spec.slug}: {offer.slug!r} is not a treatment in the knowledge base")
            self.ensure(
                m.ClinicTreatment,
                {"clinic_id": clinic.id, "treatment_slug": offer.slug},
                duration_minutes=offer.duration,
                buffer_before_minutes=offer.before,
                buffer_after_minutes=offer.after,
                required_permission_id=offer.permission,
                required_room_kind=offer.room,
                required_device_kind=offer.device,
                deposit_cents=offer.deposit_cents,
            )
            known = self.knowledge.treatments[offer.slug]
            if known.breaks_skin or known.injection:  # where clinics ask for written consent; the rest show none
                self.ensure(
                    ConsentForm,
                    {"clinic_id": clinic.id, "treatment_slug": offer.slug},
                    version=1,
                    title=starter_title(known),
                    body=starter_body(known, list(self.knowledge.factors.values()), clinic.name),
                    written_by=ACTOR,
                    written_at=FORMS_IN_USE_FROM.astimezone(UTC),
                )
        return clinic

    def practitioner(self, spec: PractitionerSpec, clinics: dict[str, m.Clinic]) -> m.Practitioner:
        practitioner = self.ensure(m.Practitioner, {"email": spec.email}, name=spec.name)
        for qualification_id in spec.qualifications:
            qualification = self.session.get(m.Qualification, qualification_id)
            if qualification is None:
                raise DemoDataError(f"practitioner {spec.email}: unknown qualification {qualification_id!r}")
            if qualification not in practitioner.qualifications:
                practitioner.qualifications.append(qualification)
                self.created["practitioner_qualifications"] += 1
        for slug, week in spec.hours.items():
            clinic = _need(clinics, slug, f"practitioner {spec.email}")
            for weekday, spans in week.items():
                for text in spans:
                    starts, ends = _span(text, f"practitioner {spec.email}")
                    self.ensure(
                        m.PractitionerHours,
                        {
                            "practitioner_id": practitioner.id,
                            "clinic_id": clinic.id,
                            "weekday": WEEKDAYS.index(weekday),
                            "starts": starts,
                        },
                        ends=ends,
                    )
        zone = clinic_zone(DEFAULT_ZONE)
        for off in spec.time_off:
            self.ensure(
                m.TimeOff,
                {"practitioner_id": practitioner.id, "start_at": _utc(off.start, zone)},
                end_at=_utc(off.end, zone),
                reason=off.reason,
            )
        self.session.flush()
        return practitioner

    def patient(
        self, spec: PatientSpec, clinics: dict[str, m.Clinic], practitioners: dict[str, m.Practitioner]
    ) -> None:
        patient = self.ensure(
            m.Patient, {"name": spec.name, "birth_date": spec.birth_date}, email=spec.email, phone=spec.phone
        )
        for factor in spec.factors:
            if factor.factor not in self.knowledge.factors:
                raise DemoDataError(f"patient {spec.name}: {factor.factor!r} is not a factor in the knowledge base")
            self.ensure(
                m.PatientFactor,
                {
                    "patient_id": patient.id,
                    "factor_id": factor.factor,
                    "recorded_at": _utc(factor.recorded_at, clinic_zone(DEFAULT_ZONE)),
                },
                recorded_by=factor.recorded_by,
            )
        for order in spec.orders:
            where = f"patient {spec.name}, order for {order.treatment}"
            prescriber = _need(practitioners, order.prescriber, where)
            permissions = self.session.scalars(
                select(m.ClinicTreatment.required_permission_id).where(
                    m.ClinicTreatment.treatment_slug == order.treatment
                )
            )
            if not any(p and self.may(prescriber, p, own_right=True) for p in permissions):
                raise DemoDataError(f"{where}: {order.prescriber} does not give it in their own right")
            self.ensure(
                m.ClientOrder,
                {
                    "patient_id": patient.id,
                    "treatment_slug": order.treatment,
                    "written_at": _utc(order.written_at, clinic_zone(DEFAULT_ZONE)),
                },
                prescriber_id=prescriber.id,
                valid_until=order.valid_until,
                note=order.note,
                written_by=order.prescriber,
            )
        for visit in spec.visits:
            where = f"patient {spec.name}, {visit.treatment} on {visit.start:%Y-%m-%d}"
            clinic = _need(clinics, visit.clinic, where)
            practitioner = _need(practitioners, visit.practitioner, where)
            offer = _need(self.of_clinic(m.ClinicTreatment, clinic, "treatment_slug"), visit.treatment, where)
            room = _resource(self.of_clinic(m.Room, clinic, "name"), visit.room, offer.required_room_kind, where)
            device = _resource(
                self.of_clinic(m.Device, clinic, "name"), visit.device, offer.required_device_kind, where
            )
            if offer.required_permission_id and not self.may(practitioner, offer.required_permission_id):
                raise DemoDataError(f"{where}: {practitioner.email} lacks {offer.required_permission_id}")
            start = _utc(visit.start, clinic_zone(clinic.time_zone))
            end = start + timedelta(minutes=offer.duration_minutes)
            self.ensure(
                m.Visit,
                {"patient_id": patient.id, "treatment_slug": visit.treatment, "start_at": start},
                clinic_id=clinic.id,
                practitioner_id=practitioner.id,
                room_id=room.id if room else None,
                device_id=device.id if device else None,
                end_at=end,
                held_from=start - timedelta(minutes=offer.buffer_before_minutes),
                held_until=end + timedelta(minutes=offer.buffer_after_minutes),
                area=visit.area,
                status=visit.status,
                created_by=ACTOR,
                deposit_cents=offer.deposit_cents if visit.status == m.VisitStatus.BOOKED else 0,
            )


Found = TypeVar("Found")


def _need(known: dict[str, Found], name: str, where: str) -> Found:
    if name not in known:
        raise DemoDataError(f"{where}: unknown {name!r}")
    return known[name]


def _resource(known: dict[str, Held], name: str | None, kind: str | None, where: str) -> Held | None:
    if name is None:
        if kind is not None:
            raise DemoDataError(f"{where}: the treatment needs a {kind}")
        return None
    resource = _need(known, name, where)
    if kind is not None and getattr(resource, "kind", None) != kind:
        raise DemoDataError(f"{where}: {name!r} is not a {kind}")
    return resource


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone).astimezone(UTC)
