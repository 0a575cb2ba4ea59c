"""Consent forms and the patients' signatures on them.

A clinic writes its own consent form for each treatment it offers; each change is a new version, and no
version is ever changed or deleted, so the exact words a patient signed can always be shown again. A
signature names the version signed; withdrawing it is a row of its own. All three tables are append-only in
the database (migration 0016)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safewindow.clock import now_utc
from safewindow.store.models import Base


class ConsentForm(Base):
    """One version of a clinic's consent form for one treatment. The latest version is the form in use."""

    __tablename__ = "consent_forms"
    __table_args__ = (
        UniqueConstraint("clinic_id", "treatment_slug", "version"),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("length(trim(title)) > 0 AND length(trim(body)) > 0", name="title_and_body_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    treatment_slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(254))
    written_at: Mapped[datetime] = mapped_column(default=now_utc)


class Consent(Base):
    """A patient's signature on one version of a consent form: typed by the patient signed in, or a signed
    paper form that staff recorded (`on_paper`, `recorded_by` the staff member)."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("length(trim(signed_name)) > 0", name="signed_name_given"),
        Index("ix_consents_patient_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    form_id: Mapped[int] = mapped_column(ForeignKey("consent_forms.id"))
    signed_name: Mapped[str] = mapped_column(String(200))
    on_paper: Mapped[bool] = mapped_column(default=False)
    recorded_by: Mapped[str] = mapped_column(String(254))
    signed_at: Mapped[datetime] = mapped_column(default=now_utc)  # when it was signed online, or recorded
    # The day a paper form was signed, as written on it, when staff record it later (None: signed_at's day).
    signed_on: Mapped[date | None] = mapped_column(Date)

    form: Mapped[ConsentForm] = relationship()


class ConsentWithdrawal(Base):
    """The patient withdrew a consent: from then on it no longer covers a visit."""

    __tablename__ = "consent_withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    withdrawn_by: Mapped[str] = mapped_column(String(254))
    withdrawn_at: Mapped[datetime] = mapped_column(default=now_utc)
