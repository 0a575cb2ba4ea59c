"""What a clinic sets for itself beyond hours and staff, and what the API remembers for retries.

`rule_adjustments` is the clinic's change log of timing rules: every change, with the value before and after
and who made it. The clinic's rules are the knowledge base with these applied (domain/adjustments.py), so the
log is the truth and nothing else is stored. `idempotency_keys` keeps the answer to a change sent with an
`Idempotency-Key`, per account, so a retried request gets the same answer instead of booking twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safewindow.clock import now_utc
from safewindow.store.models import Base


class RuleAdjustment(Base):
    """One field of one rule changed at one clinic. Values are text as the API takes them ('21 days',
    'hard', '1'); ids and values only, never a patient."""

    __tablename__ = "rule_adjustments"
    __table_args__ = (Index("ix_rule_adjustments_clinic_id_rule_id", "clinic_id", "rule_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(32))
    before: Mapped[str] = mapped_column(String(64))
    after: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=now_utc)


class IdempotencyKey(Base):
    """A change request's key and, once it is answered, the answer. `status` is NULL while the first request
    with the key is still running. `request_hash` is a SHA-256 of the method, path and body: the same key
    with another request is refused rather than answered with the wrong response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    response: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class ConfigurationVersion(Base):
    """One row, bumped by trigger whenever a clinic's setup changes (migration 0008): what a process's copy
    of the setup is checked against. `instance` tells one database from another that had the same URL."""

    __tablename__ = "configuration_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger)
