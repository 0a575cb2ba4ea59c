"""Messages waiting to go out, the visit changes they are written from, patients' mail preferences, and
calendar feeds.

A booking, move or cancellation writes one `VisitChange` in its own transaction, so the change to tell the
patient about exists exactly when the visit's change was committed. The worker writes the change's messages
(notice, reminders, aftercare) into the outbox and deletes the change in one transaction, then sends what is
due. Rendering mail is kept out of the booking because the booking holds the clinic's lock. Bodies are
patient-facing text and stay in the database: never in application logs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from safewindow.clock import now_utc
from safewindow.store.models import Base


class OwnerKind(StrEnum):
    PATIENT = "patient"
    PRACTITIONER = "practitioner"


class Channel(StrEnum):
    EMAIL = "email"
    TEXT = "text"  # a text message (SMS) to the patient's mobile number; `subject` is empty


class OutboxMessage(Base):
    """One e-mail or text message to send once. `delivery_key` is stable for what the message is about (visit 12,
    version 2, the 48-hour reminder), so enqueueing twice writes one row; it is also the e-mail's Message-ID, so
    a copy the SMTP side may see twice carries the same id. `claimed_at` is set while a worker sends it: a row that
    keeps it after the worker died was sent or not, and is sent again (see safewindow/worker.py)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("channel IN ('email', 'text')", name="known_channel"),
        Index("ix_outbox_sent_at_due_at", "sent_at", "due_at"),
        Index("ix_outbox_visit_id", "visit_id"),
        Index("ix_outbox_patient_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8), default=Channel.EMAIL, server_default=Channel.EMAIL.value)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)  # an RFC 5545 attachment
    ics_method: Mapped[str | None] = mapped_column(String(16))  # REQUEST | CANCEL, for the attachment's type
    stop_url: Mapped[str | None] = mapped_column(String(300))  # a one-click stop (List-Unsubscribe, RFC 8058)
    # Mail about a patient's care is essential; the rest (reminders, recalls) respects the opt-out.
    essential: Mapped[bool] = mapped_column(default=True, server_default=true())
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    delivery_key: Mapped[str] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]  # a permanent refusal, or too many attempts
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class VisitChange(Base):
    """A visit was booked, moved or cancelled, and its mail is still to be written (services/notifications.py,
    `write_mail_for_changes`). `was`: a moved visit's former start, which the patient's notice names."""

    __tablename__ = "visit_changes"
    __table_args__ = (
        CheckConstraint("event IN ('booked', 'rescheduled', 'cancelled')", name="known_event"),
        Index("ix_visit_changes_visit_id", "visit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    visit_version: Mapped[int]
    event: Mapped[str] = mapped_column(String(16))
    was: Mapped[datetime | None]
    happened_at: Mapped[datetime]


class NotificationPreference(Base):
    """A patient without a row gets every e-mail and no text messages: texts are opt-in."""

    __tablename__ = "notification_preferences"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True)
    opted_out_non_essential: Mapped[bool] = mapped_column(default=False, server_default=false())
    text_reminders: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)


class CalendarFeed(Base):
    """A revocable calendar subscription. Only a SHA-256 of the token is kept: a copy of the database does not
    open anyone's feed."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        CheckConstraint("owner_kind IN ('patient', 'practitioner')", name="known_owner_kind"),
        Index("ix_calendar_feeds_owner_kind_owner_id", "owner_kind", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    revoked_at: Mapped[datetime | None]


class StopLink(Base):
    """A link in a reminder or recall e-mail that stops them in one click, with no sign-in (Canada's anti-spam
    law asks that every such message carry one; mailboxes offer it as "Unsubscribe"). Only a SHA-256 of the
    token is kept. It does nothing but turn the patient's e-mail reminders and recalls off."""

    __tablename__ = "stop_links"
    __table_args__ = (Index("ix_stop_links_patient_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    used_at: Mapped[datetime | None]
