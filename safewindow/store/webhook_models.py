"""Webhooks: the URLs a clinic registered for events, one delivery per event and URL (an outbox row, written in
the transaction of the change it reports), and every attempt with the receiver's answer.

The secret signs deliveries (HMAC-SHA256), so it is kept as it was issued, unlike session or feed tokens, which
are only compared and so kept as digests. A removed endpoint keeps its row (deleted_at) so its delivery log stays
readable; nothing more is sent to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safewindow.clock import now_utc
from safewindow.store.models import Base, Clinic


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_clinic_id", "clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)  # e.g. ["visit.booked", "visit.cancelled"]
    secret: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    deleted_at: Mapped[datetime | None]

    clinic: Mapped[Clinic] = relationship()


class WebhookDelivery(Base):
    """One event for one endpoint. `event_id` is stable for what happened (visit 12, version 2, moved), so
    reporting an event twice writes one row, and receivers can drop a repeat; the worker claims, sends and
    records it as it does e-mail (safewindow/worker.py)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_webhook_deliveries_delivered_at_due_at", "delivered_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body that is signed and sent
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="WebhookAttempt.id"
    )


class WebhookAttempt(Base):
    """One try: the receiver's status and the start of its answer, or why there was none."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    at: Mapped[datetime]
    status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # truncated
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")
