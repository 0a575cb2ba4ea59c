"""How a patient hears from the clinic: their mobile number, whether reminders and recalls come by e-mail, and
whether visit reminders also come by text message.

Mail about a visit's care (booked, moved, cancelled, aftercare, a changed plan) always comes by e-mail; the
reminders 48 and 2 hours before a visit and recalls are the patient's choice. Texts are opt-in and carry only
the clinic, the day and the time: a lock screen shows them to whoever holds the phone, so never a treatment.
A change is the patient's own (on their page or the API) or what they told the front desk; it is one
transaction, audited with the choices and whether the number changed, never the number itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import now_utc
from safewindow.services.errors import FieldProblems, NotFound
from safewindow.services.mail_choices import set_opt_out
from safewindow.services.notifications import write_text_reminders
from safewindow.services.phone_numbers import for_people, mobile_number
from safewindow.store import models
from safewindow.store.outbox_models import Channel, NotificationPreference, OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ContactPreferences:
    patient_id: int
    email: str
    phone: str | None  # E.164, as stored: +16045550142
    email_reminders: bool  # reminders and recalls by e-mail (visit mail and aftercare come regardless)
    text_reminders: bool  # visit reminders by text message too

    @property
    def phone_for_people(self) -> str | None:
        return for_people(self.phone) if self.phone else None

    def as_dict(self) -> dict[str, object]:
        return {
            "patient_id": self.patient_id,
            "email": self.email,
            "phone": self.phone,
            "email_reminders": self.email_reminders,
            "text_reminders": self.text_reminders,
        }


def contact_preferences(session: Session, patient_id: int) -> ContactPreferences:
    patient = session.get(models.Patient, patient_id)
    if patient is None:
        raise NotFound("patient", f"no patient {patient_id}")
    return _preferences(patient, session.get(NotificationPreference, patient_id))


def _preferences(patient: models.Patient, preference: NotificationPreference | None) -> ContactPreferences:
    return ContactPreferences(
        patient_id=patient.id,
        email=patient.email,
        phone=patient.phone or None,
        email_reminders=not (preference is not None and preference.opted_out_non_essential),
        text_reminders=preference is not None and preference.text_reminders,
    )


def set_contact_preferences(
    session_factory: sessionmaker[Session],
    *,
    patient_id: int,
    actor: str,
    phone: str | None,
    email_reminders: bool | None,
    text_reminders: bool | None,
    now: datetime | None = None,
) -> ContactPreferences:
    """Set the patient's choices (an empty `phone` removes the number; None keeps a choice as it is, read under
    the patient's lock, so a change made meanwhile is not put back). Every field at fault is named and nothing
    is written. Turning a channel off drops its unsent reminders; turning texts on writes them for the
    visits already booked; a new number carries the unsent ones. The number on file, sent back as it is
    shown, is kept as it is, so a number from before these checks does not block the other choices."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        patient = session.get(models.Patient, patient_id, with_for_update=True)  # the lock every change takes first
        if patient is None:
            raise NotFound("patient", f"no patient {patient_id}")
        before = _preferences(patient, session.get(NotificationPreference, patient_id))
        phone = (before.phone or "") if phone is None else phone.strip()
        email_reminders = before.email_reminders if email_reminders is None else email_reminders
        text_reminders = before.text_reminders if text_reminders is None else text_reminders
        number = _number(phone, before.phone, text_reminders)  # before any write: a problem writes nothing
        patient.phone = number
        set_opt_out(session, patient_id, not email_reminders, now=now)
        preference = session.get(NotificationPreference, patient_id)
        assert preference is not None  # set_opt_out wrote it
        preference.text_reminders = text_reminders
        unsent_texts = (
            OutboxMessage.patient_id == patient_id,
            OutboxMessage.channel == Channel.TEXT,
            OutboxMessage.sent_at.is_(None),
        )
        if not text_reminders:
            session.execute(delete(OutboxMessage).where(*unsent_texts))
        elif before.phone != number:
            session.execute(update(OutboxMessage).where(*unsent_texts).values(recipient=number))
        session.flush()
        if text_reminders and not before.text_reminders:
            for visit in _upcoming(session, patient_id, now):
                write_text_reminders(session, visit, now=now)
        after = _preferences(patient, preference)
        session.add(
            models.AuditEntry(
                actor=actor,
                action="patient.contact-preferences",
                entity="patient",
                entity_id=str(patient_id),
                detail={
                    "email_reminders": email_reminders,
                    "text_reminders": text_reminders,
                    "phone_changed": before.phone != number,
                },
            )
        )
        uow.commit()
        return after


def _number(phone: str, on_file: str | None, texts: bool) -> str | None:
    if on_file is not None and phone in (on_file, for_people(on_file)):
        return on_file
    if not phone:
        if texts:
            raise FieldProblems([("phone", "text reminders need a mobile number")])
        return None
    return mobile_number(phone)


def _upcoming(session: Session, patient_id: int, now: datetime) -> list[models.Visit]:
    return list(
        session.scalars(
            select(models.Visit)
            .where(
                models.Visit.patient_id == patient_id,
                models.Visit.status == models.VisitStatus.BOOKED,
                models.Visit.start_at > now,
            )
            .options(selectinload(models.Visit.clinic), selectinload(models.Visit.patient))
            .order_by(models.Visit.start_at)
        )
    )
