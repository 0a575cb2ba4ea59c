"""The patient's choices the outbox honours: e-mail reminders and recalls (on unless they opted out) and text
reminders (off unless they asked). Kept apart so the stop links and the mail writer share them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from safewindow.clock import now_utc
from safewindow.store.outbox_models import Channel, NotificationPreference, OutboxMessage


def opted_out(session: Session, patient_id: int) -> bool:
    preference = session.get(NotificationPreference, patient_id)
    return preference is not None and preference.opted_out_non_essential


def wants_texts(session: Session, patient_id: int) -> bool:
    preference = session.get(NotificationPreference, patient_id)
    return preference is not None and preference.text_reminders


def set_opt_out(session: Session, patient_id: int, opted_out_non_essential: bool, now: datetime | None = None) -> None:
    """Record the patient's choice; opting out also drops their unsent non-essential e-mail (text reminders are
    a choice of their own). The caller commits."""
    now = now or now_utc()
    preference = session.get(NotificationPreference, patient_id)
    if preference is None:
        session.add(NotificationPreference(patient_id=patient_id, opted_out_non_essential=opted_out_non_essential))
    else:
        preference.opted_out_non_essential = opted_out_non_essential
        preference.updated_at = now
    if opted_out_non_essential:
        session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.patient_id == patient_id,
                OutboxMessage.channel == Channel.EMAIL,
                OutboxMessage.essential.is_(False),
                OutboxMessage.sent_at.is_(None),
            )
        )
