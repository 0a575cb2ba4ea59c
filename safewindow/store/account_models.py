"""Who may sign in, as what, and their sessions. Passwords are kept only as argon2id hashes; session tokens
only as SHA-256 digests, so a copy of the database signs nobody in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safewindow.clock import now_utc
from safewindow.store.models import Base, Clinic, Patient, Practitioner


class Role(StrEnum):
    PATIENT = "patient"  # their own record only
    FRONT_DESK = "front-desk"  # schedule, book, a limited chart
    PRACTITIONER = "practitioner"  # charts, overrides of soft rules
    CLINIC_ADMIN = "clinic-admin"  # settings, staff, rule adjustments


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    patient: Mapped[Patient | None] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()
    clinic: Mapped[Clinic | None] = relationship()


class SignInSession(Base):
    __tablename__ = "sign_in_sessions"
    __table_args__ = (Index("ix_sign_in_sessions_account_id", "account_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[datetime]

    account: Mapped[Account] = relationship()


class SignInAttempt(Base):
    """Failed sign-ins, for rate limiting by e-mail address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=now_utc)
