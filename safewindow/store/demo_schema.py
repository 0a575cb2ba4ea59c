"""The shape of `demo_data.yaml`, validated on reading so a typo fails with the field that holds it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safewindow.clock import DEFAULT_ZONE
from safewindow.domain.availability import LONGEST_BUFFER_MINUTES, LONGEST_VISIT_MINUTES
from safewindow.domain.deposits import LARGEST_CENTS
from safewindow.store.models import DEFAULT_AREA, VisitStatus

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Local wall-clock spans per weekday, "HH:MM-HH:MM".
Hours = dict[Weekday, list[str]]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PermissionSpec(_Spec):
    id: str
    name: str
    description: str = ""


class GrantSpec(_Spec):
    permission: str
    on_order_only: bool = False


class QualificationSpec(_Spec):
    id: str
    name: str
    description: str = ""
    grants: list[str | GrantSpec]


class ResourceSpec(_Spec):
    name: str
    kind: str


class OfferSpec(_Spec):
    slug: str
    duration: int = Field(gt=0, le=LONGEST_VISIT_MINUTES)
    before: int = Field(default=0, ge=0, le=LONGEST_BUFFER_MINUTES)
    after: int = Field(default=0, ge=0, le=LONGEST_BUFFER_MINUTES)
    permission: str | None = None
    room: str | None = None
    device: str | None = None
    deposit_cents: int = Field(default=0, ge=0, le=LARGEST_CENTS)  # asked to hold a visit


class PolicySpec(_Spec):
    min_notice_minutes: int = Field(ge=0)
    horizon_days: int = Field(gt=0)
    slot_step_minutes: int = Field(gt=0)
    change_notice_minutes: int = Field(default=0, ge=0)


class ClosureSpec(_Spec):
    first_day: date
    last_day: date
    reason: str


class ClinicSpec(_Spec):
    slug: str
    name: str
    address: str
    phone: str | None = Field(default=None, max_length=32)
    time_zone: str = DEFAULT_ZONE
    open_on_holidays: bool = False
    hours: Hours
    closures: list[ClosureSpec] = []
    policy: PolicySpec
    rooms: list[ResourceSpec] = []
    devices: list[ResourceSpec] = []
    treatments: list[OfferSpec]


class TimeOffSpec(_Spec):
    start: datetime
    end: datetime
    reason: str = ""


class PractitionerSpec(_Spec):
    name: str
    email: str
    qualifications: list[str]
    hours: dict[str, Hours]
    time_off: list[TimeOffSpec] = []


class FactorSpec(_Spec):
    factor: str
    recorded_at: datetime
    recorded_by: str


class VisitSpec(_Spec):
    clinic: str
    treatment: str
    practitioner: str
    room: str | None = None
    device: str | None = None
    start: datetime
    status: VisitStatus
    area: str = DEFAULT_AREA


class OrderSpec(_Spec):
    """A prescriber's client-specific order, written at a local time, covering visits up to `valid_until`."""

    treatment: str
    prescriber: str  # a practitioner's e-mail
    written_at: datetime
    valid_until: date
    note: str = ""


class PatientSpec(_Spec):
    name: str
    birth_date: date
    email: str
    phone: str | None = None
    factors: list[FactorSpec] = []
    visits: list[VisitSpec] = []
    orders: list[OrderSpec] = []


class DemoData(_Spec):
    permissions: list[PermissionSpec]
    qualifications: list[QualificationSpec]
    clinics: list[ClinicSpec]
    practitioners: list[PractitionerSpec]
    patients: list[PatientSpec]
