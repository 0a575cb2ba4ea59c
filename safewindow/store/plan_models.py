"""Treatment plans as booked: which template, for which patient, with which event date, and the visits it booked.

A plan row records the journey; its visits stay ordinary visits (booked, moved and cancelled like any other),
so every check on visits keeps holding. `plan_visits` says which step of the template each visit is."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safewindow.clock import now_utc
from safewindow.store.models import Base, Patient, Visit


class PlanStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'cancelled', 'completed')", name="known_status"),
        Index("ix_plans_patient_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(64))  # a slug from knowledge/data/plans.yaml
    event_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.ACTIVE.value, server_default="active")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    patient: Mapped[Patient] = relationship()
    visits: Mapped[list[PlanVisit]] = relationship(back_populates="plan", cascade="all, delete-orphan")


class PlanVisit(Base):
    """One visit of a plan: the template's step (0 = first) and the session within it (1, 2, 3 ...)."""

    __tablename__ = "plan_visits"
    __table_args__ = (UniqueConstraint("visit_id"),)  # a visit belongs to one plan at most

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    step: Mapped[int]
    session: Mapped[int] = mapped_column(default=1, server_default="1")

    plan: Mapped[Plan] = relationship(back_populates="visits")
    visit: Mapped[Visit] = relationship()
